block A(n) {
  param w: [n] = zeros()
  def forward(x: [B, n]) -> [B, n] {
    return softmax(x * w, 1, 2)
  }
}
model m = A(4)
# expect: tests/diag/arity-builtin.dsl:4:30: error: 'softmax' takes a tensor, then axis; got 3 arguments
# expect:     4 |     return softmax(x * w, 1, 2)
# expect:       |                              ^
# expect: 1 error
# exit: 1
