block A(dim) {
  param w: [dim] = zeros()
  def forward(x: [B, dim]) -> [B, dim] {
    return x * w
  }
}
block C(enc: A) {
  param v: [enc.dims] = zeros()
  def forward(x: [B, enc.dim]) -> [B, enc.dim] {
    return x * v
  }
}
a = A(4)
model m = C(a)
# expect: tests/diag/name-unknown-member.dsl:8:17: error: block 'A' has no member 'dims'; did you mean 'dim'?
# expect:     8 |   param v: [enc.dims] = zeros()
# expect:       |                 ^~~~
# expect: tests/diag/name-unknown-member.dsl:14:11: note: in this instance of block 'C'
# expect:    14 | model m = C(a)
# expect:       |           ^~~~
# expect: 1 error
# exit: 1
