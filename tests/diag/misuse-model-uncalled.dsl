block A(n) {
  param w: [n] = zeros()
  def forward(x: [B, n]) -> [B, n] {
    return x * w
  }
}
model m = A
# expect: tests/diag/misuse-model-uncalled.dsl:7:11: error: a model is an instance of a block: call it, as in A(...)
# expect:     7 | model m = A
# expect:       |           ^
# expect: 1 error
# exit: 1
