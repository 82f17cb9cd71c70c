block Ops(d) {
  param w: [d, d] = trunc_normal(0.02, -2, 2)
  param s: [d] = ones() frozen
  param u: [2, d] = uniform(-0.5, 0.5)
  def forward(x: [B, 4, d], i: i32[B, 4]) -> ([B, 4, d], [B, d]) {
    a = exp(x) - log(sigmoid(x)) * tanh(x) / sqrt(abs(x) + 1)
    b = rsqrt(x * x + 1e-6) ** 2
    c = maximum(a, b) + minimum(a, -b) + neg(x)
    n = layernorm(c, 1e-5) * s
    p = softmax(n, axis = -1) + log_softmax(n, axis = 2)
    q = transpose(p, [0, 2, 1])
    r = reshape(q, [B, d * 4])
    t = concat(x, x, axis = 1)[:, 1:5]
    g = gather(t, i, axis = 1)
    k = argsort(g, axis = 2)
    m = sum(g, axes = [1]) + max(g, axes = [1]) + mean(cast(k, f32), axes = [1])
    e = expand(reshape(s, [1, 1, d]), [B, 4, d])
    z = zeros([B, 4, d]) + ones([B, 4, d], f32) + e
    return g @ w + z, m
  }
}
model ops = Ops(8)
