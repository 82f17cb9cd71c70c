block A(n) {
  param w: [n] = zeros()
  def forward(x: [B, n]) -> [B, n] {
    return x * w
  }
}
block C() {
  a = A(4)
  a = A(8)
  def forward(x: [B, 4]) -> [B, 4] {
    return a(x)
  }
}
model m = C()
# expect: tests/diag/dup-member.dsl:9:3: error: 'a' is already defined
# expect:     9 |   a = A(8)
# expect:       |   ^
# expect: tests/diag/dup-member.dsl:8:3: note: first defined here
# expect:     8 |   a = A(4)
# expect:       |   ^
# expect: tests/diag/dup-member.dsl:14:11: note: in this instance of block 'C'
# expect:    14 | model m = C()
# expect:       |           ^~~
# expect: 1 error
# exit: 1
