block A(n) {
  param w: [n] = zeros()
  def forward(x: [B, n]) -> [B, n] {
    y = x * w
  }
}
model m = A(4)
# expect: tests/diag/misuse-no-return.dsl:3:7: error: function 'A.forward' ends without 'return'
# expect:     3 |   def forward(x: [B, n]) -> [B, n] {
# expect:       |       ^~~~~~~
# expect: 1 error
# exit: 1
