block Layer(d) {
  param w: [d, d] = normal(0.02)
  def forward(x: [B, T, d]) -> [B, T, d] {
    return x + matmul(x, w)
  }
}
block Stack(d, depth) {
  layers = repeat(depth) Layer(d)
  def forward(x: [B, 6, d]) -> [B, 6, d] {
    return layers(x)
  }
}
block Head(body: Stack, classes) {
  layers = body.layers
  param w: [classes, body.d] = zeros()
  def forward(x: [B, 6, body.d]) -> [B, classes] {
    h = layers(x)
    return matmul(h[:, 0], w, tb = 1)
  }
}
model stack = Stack(4, 3)
model head = Head(stack, 5)
