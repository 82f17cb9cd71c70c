block Bad(n) {
  param w: [n, n + 1] = normal(0.02)
  def forward(x: [B, n]) -> [B, n] {
    y = matmul(x, w)
    z = reshape(y, [B, 7])
    return concat(x, z, axis = 3)
  }
}
model bad = Bad(4)
