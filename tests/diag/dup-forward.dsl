block A(n) {
  param w: [n] = zeros()
  def forward(x: [B, n]) -> [B, n] {
    return x * w
  }
  def forward(x: [B, n]) -> [B, n] {
    return x
  }
}
model m = A(4)
# expect: tests/diag/dup-forward.dsl:6:7: error: block 'A' defines 'forward' twice
# expect:     6 |   def forward(x: [B, n]) -> [B, n] {
# expect:       |       ^~~~~~~
# expect: tests/diag/dup-forward.dsl:3:7: note: first defined here
# expect:     3 |   def forward(x: [B, n]) -> [B, n] {
# expect:       |       ^~~~~~~
# expect: tests/diag/dup-forward.dsl:10:11: note: in this instance of block 'A'
# expect:    10 | model m = A(4)
# expect:       |           ^~~~
# expect: 1 error
# exit: 1
