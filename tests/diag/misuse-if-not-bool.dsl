block A(n) {
  param w: [n] = zeros()
  if n {
    param b: [n] = zeros()
  }
  def forward(x: [B, n]) -> [B, n] {
    return x * w
  }
}
model m = A(4)
# expect: tests/diag/misuse-if-not-bool.dsl:3:6: error: an 'if' condition must be a compile-time boolean, got the integer 4
# expect:     3 |   if n {
# expect:       |      ^
# expect: tests/diag/misuse-if-not-bool.dsl:10:11: note: in this instance of block 'A'
# expect:    10 | model m = A(4)
# expect:       |           ^~~~
# expect: 1 error
# exit: 1
