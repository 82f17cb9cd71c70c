big = 9223372036854775807
block Huge(n) {
  param w: [n, n, n] = zeros()
  def forward(x: [B, n]) -> [B, n] { return x * (big + 1) }
}
model h = Huge(1048576)
