block A(n) {
  param w: [n] = zeros()
  def forward(x: [B, n]) -> [B, n] {
    return x * w, x
  }
}
model m = A(4)
# expect: tests/diag/shape-result-count.dsl:4:5: error: 'A.forward' returns 2 values but declares 1
# expect:     4 |     return x * w, x
# expect:       |     ^~~~~~~~~~~~~~~
# expect: 1 error
# exit: 1
