block A(n) {
  param w: [n] = zeros()
  def forward(x: [B, n], x: [B, n]) -> [B, n] {
    return x * w
  }
}
model m = A(4)
# expect: tests/diag/dup-function-arg.dsl:3:26: error: 'x' is already defined
# expect:     3 |   def forward(x: [B, n], x: [B, n]) -> [B, n] {
# expect:       |                          ^~~~~~~~~
# expect: tests/diag/dup-function-arg.dsl:3:15: note: first defined here
# expect:     3 |   def forward(x: [B, n], x: [B, n]) -> [B, n] {
# expect:       |               ^~~~~~~~~
# expect: 1 error
# exit: 1
