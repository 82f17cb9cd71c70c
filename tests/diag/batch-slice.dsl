block A(n) {
  param w: [n] = zeros()
  def forward(x: [B, n]) -> [B, n] {
    return x[1:] * w
  }
}
model m = A(4)
# expect: tests/diag/batch-slice.dsl:4:14: error: the batch dimension cannot be indexed or sliced
# expect:     4 |     return x[1:] * w
# expect:       |              ^~
# expect: 1 error
# exit: 1
