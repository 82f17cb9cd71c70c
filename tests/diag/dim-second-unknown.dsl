block A(n) {
  param w: [n] = zeros()
  def forward(x: [B, n, T]) -> [B, n] {
    return x * w
  }
}
model m = A(4)
# expect: tests/diag/dim-second-unknown.dsl:3:25: error: 'T' is a second unknown dimension; only the batch ('B') may be unknown here
# expect:     3 |   def forward(x: [B, n, T]) -> [B, n] {
# expect:       |                         ^
# expect: 1 error
# exit: 1
