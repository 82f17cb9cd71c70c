block A(n) {
  param w: [n] = zeros()
  def forward(x: [B, n]) -> [B, n] {
    return x * wt
  }
}
model m = A(4)
# expect: tests/diag/name-unknown-suggest.dsl:4:16: error: unknown name 'wt'; did you mean 'w'?
# expect:     4 |     return x * wt
# expect:       |                ^~
# expect: 1 error
# exit: 1
