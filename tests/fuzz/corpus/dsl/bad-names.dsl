block Linear(n) {
  param weight: [n, n] = normal(0.02)
  def forward(x: [B, n]) -> [B, n] {
    return matmull(x, wieght)
  }
}
model net = Linaer(4)
