block A(n) {
  param w: [n] = zeros()
  def forward(x: [B, n]) -> [B, n] {
    return x * w
  }
}
block A(n) {
  param w: [n] = zeros()
  def forward(x: [B, n]) -> [B, n] {
    return x
  }
}
# expect: tests/diag/dup-block.dsl:7:7: error: 'A' is already defined
# expect:     7 | block A(n) {
# expect:       |       ^
# expect: tests/diag/dup-block.dsl:1:7: note: first defined here
# expect:     1 | block A(n) {
# expect:       |       ^
# expect: 1 error
# exit: 1
