block L() {
  param w: [3] = zeros()
  def forward(x: [B, 3]) -> [B, 3] {
    return x
  }
}
block K() {
  param w: [3] = zeros()
}
def g(e: K) {
  return e
}
model m = L()
k = g(L())
# expect: tests/diag/arg-block-type-function.dsl:14:7: error: argument 'e' of function 'g' must be an instance of block 'K', got an instance of block 'L'
# expect:    14 | k = g(L())
# expect:       |       ^~~
# expect: 1 error
# exit: 1
