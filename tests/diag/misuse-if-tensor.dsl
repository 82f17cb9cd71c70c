block A(n) {
  param w: [n] = zeros()
  def forward(x: [B, n]) -> [B, n] {
    if x {
      x = x + 1
    }
    return x * w
  }
}
model m = A(4)
# expect: tests/diag/misuse-if-tensor.dsl:4:8: error: an 'if' condition must be a compile-time boolean, got a tensor f32[B,4]
# expect:     4 |     if x {
# expect:       |        ^
# expect: 1 error
# exit: 1
