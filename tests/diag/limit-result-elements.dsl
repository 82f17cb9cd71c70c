# A result whose size passes 2^40 elements an image.
block L() {
  def forward(x: [B, 1048576]) -> [B, 4] {
    y = x @ zeros([1048576, 1099511627776])
    return y[:, 0:4]
  }
}
model m = L()
# expect: tests/diag/limit-result-elements.dsl:4:13: error: result of 'full' would have [1048576,1099511627776] elements per image, more than 2^40
# expect:     4 |     y = x @ zeros([1048576, 1099511627776])
# expect:       |             ^~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~
# expect: 1 error
# exit: 1
