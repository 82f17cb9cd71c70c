block A(n) {
  param w: [n] = zeros()
  def forward(x: [B, n]) -> [B, n] {
    return x * w
  }
}
model m = A(4, 5)
# expect: tests/diag/arity-block.dsl:7:16: error: block 'A' takes 1 argument, got 2
# expect:     7 | model m = A(4, 5)
# expect:       |                ^
# expect: 1 error
# exit: 1
