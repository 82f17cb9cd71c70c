block A(n) {
  param w: [n] = zeros()
  def forward(x: [B, n]) -> [B, n] {
    return x * scale
  }
}
model m = A(4)
# expect: tests/diag/name-unknown.dsl:4:16: error: unknown name 'scale'
# expect:     4 |     return x * scale
# expect:       |                ^~~~~
# expect: 1 error
# exit: 1
