block A(n) {
  c = C(n)
  def forward(x: [B, n]) -> [B, n] {
    return c(x)
  }
}
block C(n) {
  a = A(n)
  def forward(x: [B, n]) -> [B, n] {
    return a(x)
  }
}
model m = A(4)
# expect: tests/diag/recursive-block-mutual.dsl:8:7: error: block 'A' is recursive: it instantiates itself through block 'C'
# expect:     8 |   a = A(n)
# expect:       |       ^~~~
# expect: tests/diag/recursive-block-mutual.dsl:2:7: note: in this instance of block 'C'
# expect:     2 |   c = C(n)
# expect:       |       ^~~~
# expect: tests/diag/recursive-block-mutual.dsl:13:11: note: in this instance of block 'A'
# expect:    13 | model m = A(4)
# expect:       |           ^~~~
# expect: 1 error
# exit: 1
