a = 7 // 2 + 7 % 3 - 2 ** 3
b = float(a) / 3 + min(1, 2.5) * max(4, 2)
c = int(-2.7) + 1
ok = a < b && b >= c || !(a == c) && a != 3
block Id(n) {
  def forward(x: [B, n]) {
    if ok {
      y = x * 1.0
    } else if c > 0 {
      y = x - 0.5
    } else {
      y = x
    }
    return y
  }
}
model id = Id(c + 5)
