block A(n) {
  param w: [n] = zeros()
  def forward(x: [B, n]) -> [B, n] {
    return x * w
  }
}
model m = A()
# expect: tests/diag/arity-block-missing.dsl:7:11: error: missing argument 'n' of block 'A'
# expect:     7 | model m = A()
# expect:       |           ^~~
# expect: tests/diag/arity-block-missing.dsl:1:7: note: block 'A' is defined here
# expect:     1 | block A(n) {
# expect:       |       ^
# expect: 1 error
# exit: 1
