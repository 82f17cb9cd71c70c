block A(n, n) {
  param w: [n] = zeros()
  def forward(x: [B, n]) -> [B, n] {
    return x * w
  }
}
model m = A(4, 4)
# expect: tests/diag/dup-block-arg.dsl:1:12: error: 'n' is already defined
# expect:     1 | block A(n, n) {
# expect:       |            ^
# expect: tests/diag/dup-block-arg.dsl:1:9: note: first defined here
# expect:     1 | block A(n, n) {
# expect:       |         ^
# expect: 1 error
# exit: 1
