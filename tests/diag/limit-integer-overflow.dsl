# Integer arithmetic that leaves 64 bits, in constants and in block arguments.
a = 4611686018427387904 * 4
b = -9223372036854775807 - 2
c = (-9223372036854775807 - 1) // -1
d = (-9223372036854775807 - 1) % -1
e = 2 ** 64
block L(n) {
  param w: [n * n, 4] = zeros()
  def forward(x: [B, 4]) -> [B, 4] {
    return x
  }
}
model m = L(3037000500)
# expect: tests/diag/limit-integer-overflow.dsl:2:5: error: integer overflow in '4611686018427387904 * 4'
# expect:     2 | a = 4611686018427387904 * 4
# expect:       |     ^~~~~~~~~~~~~~~~~~~~~~~
# expect: tests/diag/limit-integer-overflow.dsl:3:5: error: integer overflow in '-9223372036854775807 - 2'
# expect:     3 | b = -9223372036854775807 - 2
# expect:       |     ^~~~~~~~~~~~~~~~~~~~~~~~
# expect: tests/diag/limit-integer-overflow.dsl:4:5: error: integer overflow in '(-9223372036854775807 - 1) // -1'
# expect:     4 | c = (-9223372036854775807 - 1) // -1
# expect:       |     ^~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~
# expect: tests/diag/limit-integer-overflow.dsl:5:5: error: integer overflow in '(-9223372036854775807 - 1) % -1'
# expect:     5 | d = (-9223372036854775807 - 1) % -1
# expect:       |     ^~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~
# expect: tests/diag/limit-integer-overflow.dsl:6:5: error: integer overflow in '2 ** 64'
# expect:     6 | e = 2 ** 64
# expect:       |     ^~~~~~~
# expect: tests/diag/limit-integer-overflow.dsl:8:13: error: integer overflow in 'n * n'
# expect:     8 |   param w: [n * n, 4] = zeros()
# expect:       |             ^~~~~
# expect: tests/diag/limit-integer-overflow.dsl:13:11: note: in this instance of block 'L'
# expect:    13 | model m = L(3037000500)
# expect:       |           ^~~~~~~~~~~~~
# expect: 6 errors
# exit: 1
