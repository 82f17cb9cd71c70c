block Mask(tokens, d, ratio = 0.75) {
  keep = int(tokens * (1 - ratio))
  param pos: [tokens, 1, d] = sincos2d(2, 2, 0)
  def forward(x: [B, tokens, d]) -> ([B, keep, d], i32[B, tokens]) {
    fwd = randperm([B, tokens], axis = 1)
    back = argsort(fwd, axis = 1)
    x = x + swapaxes(pos, 0, 1)
    return gather(x, fwd[:, :keep], axis = 1), back
  }
}
model m = Mask(4, 4)
