block Linear(n_in, n_out) {
  param weight: [n_out, n_in] = fan_in_uniform(n_in)
  param bias: [n_out] = zeros()
  def forward(x: [B, n_in]) -> [B, n_out] {
    return matmul(x, weight, tb = 1) + bias
  }
}
model net = Linear(4, 2)
