block A(x {
  def forward(y: [B, x]) -> [B, x] {
    return y +
  }
}
model a = A(3
