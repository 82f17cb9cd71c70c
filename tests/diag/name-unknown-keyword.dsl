block A(n) {
  param w: [n] = zeros()
  def forward(x: [B, n]) -> [B, n] {
    return softmax(x * w, axs = 1)
  }
}
model m = A(4)
# expect: tests/diag/name-unknown-keyword.dsl:4:27: error: 'softmax' has no argument 'axs'; did you mean 'axis'?
# expect:     4 |     return softmax(x * w, axs = 1)
# expect:       |                           ^~~
# expect: 1 error
# exit: 1
