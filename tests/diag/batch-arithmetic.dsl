block A(n) {
  param w: [n] = zeros()
  def forward(x: [B, n]) -> [B, n] {
    return reshape(x * w, [B * 2, n / 2])
  }
}
model m = A(4)
# expect: tests/diag/batch-arithmetic.dsl:4:28: error: the batch dimension cannot take part in arithmetic
# expect:     4 |     return reshape(x * w, [B * 2, n / 2])
# expect:       |                            ^~~~~
# expect: 1 error
# exit: 1
