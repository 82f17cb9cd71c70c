block X(n) {
  s = "unterminated
  t = "esc \" \n \t"
  param p: [n] = ones() frozen
  def forward(x: [B, n]) { return x }
}
model x = X(99999999999999999999)
y = 1e999 $  ÿ
