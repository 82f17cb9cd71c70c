/* cuda_prelude.c: the top of every CUDA trainer's kernel source (codegen/cuda.c): what
 * every kernel uses. The same text is compiled by NVRTC on a GPU and by the host C++
 * compiler for the emulation (runtime/gpu/simt.c), where runtime/gpu/simt_cuda.h supplies CUDA's
 * built-ins. */
#include "cgen.h"

/* The same text for both: no path of it differs between the device and the emulation. */
const char cuda_prelude[] =
	"/* maec kernels: extern \"C\" __global__ void NAME(i64 B, RtPtrs p, int site) (runtime/gpu/gpu.h). */\n"
	"#define MAEC_KERNEL extern \"C\" __global__ void\n"
	"#define MAEC_DEV __device__ __forceinline__\n"
	"#define MAEC_GLOBAL __device__\n"
	"typedef long long i64;\n"
	"struct RtPtrs {\n\tvoid *p[32];\n};\n"
	"extern \"C\" {\nMAEC_GLOBAL int maec_error; /* 1 + the site of the first bad index */\n"
	"MAEC_GLOBAL int maec_precision; /* the tensor-core products': 0 fp32, 1 tf32, 2 bf16 (RtPrecision) */\n}\n"
	"#define MAEC_WARP 32\n"
	"MAEC_DEV double maec_warp_sum(double v)\n{\n"
	"\tfor (int o = 16; o > 0; o >>= 1)\n\t\tv += __shfl_xor_sync(0xffffffffu, v, o);\n\treturn v;\n}\n"
	"MAEC_DEV float maec_warp_max(float v)\n{\n"
	"\tfor (int o = 16; o > 0; o >>= 1) {\n\t\tconst float w = __shfl_xor_sync(0xffffffffu, v, o);\n"
	"\t\tv = w > v || w != w ? w : v;\n\t}\n\treturn v;\n}\n"
	"/* a warp per row: every lane of a warp runs the same rows, so the shuffles see them all */\n"
	"#define MAEC_WARP_LOOP(row, rows) for (i64 row = ((i64)blockIdx.x * blockDim.x + threadIdx.x) / MAEC_WARP; "
	"row < (rows); row += (i64)gridDim.x * blockDim.x / MAEC_WARP)\n"
	"#define MAEC_LOOP(i, n) for (i64 i = (i64)blockIdx.x * blockDim.x + threadIdx.x; i < (n); i += (i64)gridDim.x * blockDim.x)\n"
	"MAEC_DEV void maec_fail(int site)\n{\n\tatomicCAS(&maec_error, 0, site + 1);\n}\n"
	"MAEC_DEV float maec_inf(void)\n{\n\treturn __int_as_float(0x7f800000);\n}\n"
	"MAEC_DEV float maec_nan(void)\n{\n\treturn __int_as_float(0x7fc00000);\n}\n"
	"/* the exact gelu, in PyTorch's order, and its derivative times dy (runtime/kernels/cpu.c) */\n"
	"MAEC_DEV float maec_gelu(float x)\n{\n\treturn x * 0.5f * (1.0f + erff(x * 0.70710678118654752440f));\n}\n"
	"MAEC_DEV float maec_gelu_grad(float x, float dy)\n{\n"
	"\tconst float cdf = 0.5f * (1.0f + erff(x * 0.70710678118654752440f));\n"
	"\tconst float pdf = 0.39894228040143267794f * expf(x * x * -0.5f);\n"
	"\treturn dy * (cdf + x * pdf);\n}\n"
	"/* real -> i32 truncates; NaN and out-of-range give INT32_MIN (x86, so PyTorch on x86) */\n"
	"MAEC_DEV int maec_f32_to_i32(float x)\n{\n\tconst double v = (double)x;\n"
	"\treturn v > -2147483649.0 && v < 2147483648.0 ? (int)v : (-2147483647 - 1);\n}\n"
	"MAEC_DEV int maec_div_i32(int x, int y)\n{\n"
	"\treturn y == 0 ? 0 : y == -1 ? (int)(0u - (unsigned)x) : x / y;\n}\n"
	"MAEC_DEV int maec_pow_i32(int x, int e)\n{\n"
	"\tif (e < 0)\n\t\treturn x == 1 ? 1 : x == -1 ? (e % 2 ? -1 : 1) : 0;\n"
	"\tunsigned r = 1, b = (unsigned)x;\n"
	"\tfor (unsigned k = (unsigned)e; k; k >>= 1) {\n\t\tif (k & 1)\n\t\t\tr *= b;\n\t\tb *= b;\n\t}\n"
	"\treturn (int)r;\n}\n"
	"/* Philox4x32-10's first word for (seed, stream, step, index): runtime/kernels/philox.c, word for word */\n"
	"MAEC_DEV unsigned maec_philox_key(unsigned k0, unsigned k1, unsigned stream, unsigned step, "
	"unsigned long long index)\n{\n"
	"\tunsigned c0 = (unsigned)index, c1 = (unsigned)(index >> 32), c2 = stream, c3 = step;\n"
	"\tfor (int round = 0; round < 10; round++) {\n"
	"\t\tconst unsigned long long p0 = 0xD2511F53ull * c0, p1 = 0xCD9E8D57ull * c2;\n"
	"\t\tc0 = (unsigned)(p1 >> 32) ^ c1 ^ k0;\n\t\tc2 = (unsigned)(p0 >> 32) ^ c3 ^ k1;\n"
	"\t\tc1 = (unsigned)p1;\n\t\tc3 = (unsigned)p0;\n"
	"\t\tk0 += 0x9E3779B9u;\n\t\tk1 += 0xBB67AE85u;\n\t}\n\treturn c0;\n}\n";

/* --precision=bf16: activations stored in cuda_bf16.h's type (simt_cuda.h's in the
 * emulation, with the same rounding), loaded into float registers and computed there. */
const char cuda_prelude_bf16[] =
	"#ifdef __CUDACC_RTC__\n#include <cuda_bf16.h>\n#endif\n"
	"/* a value's bf16 rounding (to nearest, ties to even), as a float: a cast to bf16 in registers */\n"
	"MAEC_DEV float maec_round_bf16(float x)\n{\n\treturn __bfloat162float(__float2bfloat16(x));\n}\n";
