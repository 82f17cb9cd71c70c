# Each dimension is allowed (at most 2^40) but their product is not.
block L() {
  def forward(x: [B, 1099511627776, 1099511627776]) -> [B, 4] {
    return x[:, 0, 0:4]
  }
}
model m = L()
# expect: tests/diag/limit-input-elements.dsl:3:18: error: input 'x' has more than 2^40 elements per image
# expect:     3 |   def forward(x: [B, 1099511627776, 1099511627776]) -> [B, 4] {
# expect:       |                  ^~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~
# expect: 1 error
# exit: 1
