// jeat's C ABI over oneDNN's convolutions: forward, backward data and backward weights of a 2-D
// convolution on plain NCHW f32 buffers, for the Rust side (crates/jeat-onednn/src/lib.rs).
//
// oneDNN chooses its own layouts (`format_tag::any`): activations are reordered from NCHW into
// them and back on every call, weights once per weight buffer (cached by the key the caller
// gives, until the caller forgets it). Primitives are cached by shape. Builds against the oneDNN
// 2.x API (Debian 12's 2.6) and the 3.x API.

#include <oneapi/dnnl/dnnl.hpp>

#include <cstdint>
#include <cstdio>
#include <cstring>
#include <exception>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <tuple>
#include <vector>

using dnnl::algorithm;
using dnnl::memory;
using dnnl::prop_kind;
using tag = dnnl::memory::format_tag;
using dt = dnnl::memory::data_type;

extern "C" {

/// One convolution: `x [n, ic, ih, iw] * w [oc, ic, kh, kw] (+ b [oc]) -> y [n, oc, oh, ow]`.
/// `dilation` as in burn and PyTorch (1: none).
struct jeat_conv_shape {
    int64_t n, ic, ih, iw, oc, kh, kw, oh, ow;
    int64_t stride_h, stride_w, pad_h, pad_w, dilation_h, dilation_w;
    int32_t has_bias;
    /// 1: the convolution's inputs (activations, weights, output gradients) in bf16, its
    /// outputs and accumulation in f32; 0: f32 throughout.
    int32_t bf16;
    /// 1: the forward pass applies a ReLU to its output (a fused post-op; inference only).
    int32_t relu;
};

}  // extern "C"

namespace {

dnnl::engine &engine() {
    static dnnl::engine cpu(dnnl::engine::kind::cpu, 0);
    return cpu;
}

/// Scratchpad memory for one call, owned by the calling thread.
struct Scratch {
    std::vector<uint8_t> bytes;
    memory of(const memory::desc &desc) {
        size_t size = desc.get_size();
        if (bytes.size() < size) bytes.resize(size);
        return memory(desc, engine(), bytes.data());
    }
};

thread_local Scratch scratch;

using Key = std::tuple<int64_t, int64_t, int64_t, int64_t, int64_t, int64_t, int64_t, int64_t,
                       int64_t, int64_t, int64_t, int64_t, int64_t, int64_t, int64_t, int32_t,
                       int32_t, int32_t>;

Key key_of(const jeat_conv_shape &s) {
    return Key{s.n,        s.ic,       s.ih,    s.iw,    s.oc,         s.kh,
               s.kw,       s.oh,       s.ow,    s.stride_h, s.stride_w, s.pad_h,
               s.pad_w,    s.dilation_h, s.dilation_w, s.has_bias, s.bf16, s.relu};
}

/// The primitives of one shape, made on first use.
struct Primitives {
    std::shared_ptr<dnnl::convolution_forward::primitive_desc> forward_pd;
    std::shared_ptr<dnnl::convolution_forward> forward;
    std::shared_ptr<dnnl::convolution_backward_data::primitive_desc> data_pd;
    std::shared_ptr<dnnl::convolution_backward_data> data;
    std::shared_ptr<dnnl::convolution_backward_weights::primitive_desc> weights_pd;
    std::shared_ptr<dnnl::convolution_backward_weights> weights;
};

struct Geometry {
    memory::dims src, weights, bias, dst, strides, dilates, pad_l, pad_r;
};

Geometry geometry(const jeat_conv_shape &s) {
    Geometry g;
    g.src = {s.n, s.ic, s.ih, s.iw};
    g.weights = {s.oc, s.ic, s.kh, s.kw};
    g.bias = {s.oc};
    g.dst = {s.n, s.oc, s.oh, s.ow};
    g.strides = {s.stride_h, s.stride_w};
    // oneDNN counts dilation from 0.
    g.dilates = {s.dilation_h - 1, s.dilation_w - 1};
    g.pad_l = {s.pad_h, s.pad_w};
    // What makes the output exactly oh × ow (burn pads both sides alike; a stride that does
    // not divide the span leaves the right padding smaller).
    g.pad_r = {(s.oh - 1) * s.stride_h + (s.kh - 1) * s.dilation_h + 1 - s.ih - s.pad_h,
               (s.ow - 1) * s.stride_w + (s.kw - 1) * s.dilation_w + 1 - s.iw - s.pad_w};
    return g;
}

dnnl::primitive_attr attributes(bool relu = false) {
    dnnl::primitive_attr attr;
    attr.set_scratchpad_mode(dnnl::scratchpad_mode::user);
    if (relu) {
        dnnl::post_ops ops;
#if DNNL_VERSION_MAJOR >= 3
        ops.append_eltwise(algorithm::eltwise_relu, 0.f, 0.f);
#else
        ops.append_eltwise(1.f, algorithm::eltwise_relu, 0.f, 0.f);
#endif
        attr.set_post_ops(ops);
    }
    return attr;
}

memory::desc any(const memory::dims &dims, dt type = dt::f32) {
    return memory::desc(dims, type, tag::any);
}

std::mutex cache_lock;
std::map<Key, std::shared_ptr<Primitives>> primitives;

std::shared_ptr<Primitives> primitives_of(const jeat_conv_shape &s, bool data, bool weights) {
    std::lock_guard<std::mutex> guard(cache_lock);
    auto &p = primitives[key_of(s)];
    if (!p) p = std::make_shared<Primitives>();
    Geometry g = geometry(s);
    auto attr = attributes();
    auto forward_attr = attributes(s.relu != 0);
    memory::desc bias = s.has_bias ? memory::desc(g.bias, dt::f32, tag::x) : memory::desc();
    // What the convolution reads in its precision; what it writes is always f32.
    dt in = s.bf16 ? dt::bf16 : dt::f32;
    if (!p->forward_pd) {
#if DNNL_VERSION_MAJOR >= 3
        p->forward_pd = std::make_shared<dnnl::convolution_forward::primitive_desc>(
            engine(), prop_kind::forward_training, algorithm::convolution_direct, any(g.src, in),
            any(g.weights, in), bias, any(g.dst), g.strides, g.dilates, g.pad_l, g.pad_r,
            forward_attr);
#else
        dnnl::convolution_forward::desc desc(prop_kind::forward_training,
                                             algorithm::convolution_direct, any(g.src, in),
                                             any(g.weights, in), bias, any(g.dst), g.strides,
                                             g.dilates, g.pad_l, g.pad_r);
        p->forward_pd = std::make_shared<dnnl::convolution_forward::primitive_desc>(
            desc, forward_attr, engine());
#endif
        p->forward = std::make_shared<dnnl::convolution_forward>(*p->forward_pd);
    }
    if (data && !p->data_pd) {
#if DNNL_VERSION_MAJOR >= 3
        p->data_pd = std::make_shared<dnnl::convolution_backward_data::primitive_desc>(
            engine(), algorithm::convolution_direct, any(g.src), any(g.weights, in),
            any(g.dst, in), g.strides, g.dilates, g.pad_l, g.pad_r, *p->forward_pd, attr);
#else
        dnnl::convolution_backward_data::desc desc(algorithm::convolution_direct, any(g.src),
                                                   any(g.weights, in), any(g.dst, in),
                                                   g.strides, g.dilates, g.pad_l, g.pad_r);
        p->data_pd = std::make_shared<dnnl::convolution_backward_data::primitive_desc>(
            desc, attr, engine(), *p->forward_pd);
#endif
        p->data = std::make_shared<dnnl::convolution_backward_data>(*p->data_pd);
    }
    if (weights && !p->weights_pd) {
#if DNNL_VERSION_MAJOR >= 3
        p->weights_pd = std::make_shared<dnnl::convolution_backward_weights::primitive_desc>(
            engine(), algorithm::convolution_direct, any(g.src, in), any(g.weights), bias,
            any(g.dst, in), g.strides, g.dilates, g.pad_l, g.pad_r, *p->forward_pd, attr);
#else
        dnnl::convolution_backward_weights::desc desc(algorithm::convolution_direct,
                                                      any(g.src, in), any(g.weights), bias,
                                                      any(g.dst, in), g.strides, g.dilates,
                                                      g.pad_l, g.pad_r);
        p->weights_pd = std::make_shared<dnnl::convolution_backward_weights::primitive_desc>(
            desc, attr, engine(), *p->forward_pd);
#endif
        p->weights = std::make_shared<dnnl::convolution_backward_weights>(*p->weights_pd);
    }
    return p;
}

/// Weights reordered into a primitive's layout, by the caller's key and that layout.
struct CachedWeights {
    memory::desc desc;
    memory reordered;
};
std::mutex weights_lock;
std::multimap<uint64_t, CachedWeights> weights_cache;

/// `user` (plain) as `want`: itself when the layouts agree, else a reordered copy.
memory in_layout(const memory &user, const memory::desc &want, dnnl::stream &stream) {
    if (user.get_desc() == want) return user;
    memory out(want, engine());
    dnnl::reorder(user, out).execute(stream, const_cast<memory &>(user), out);
    return out;
}

/// The weights `w` (plain OIHW, known to the caller as `key`; 0: do not cache) in `want`.
memory weights_in(const float *w, uint64_t key, const memory::dims &dims, const memory::desc &want,
                  dnnl::stream &stream) {
    if (key != 0) {
        std::lock_guard<std::mutex> guard(weights_lock);
        auto range = weights_cache.equal_range(key);
        for (auto it = range.first; it != range.second; ++it) {
            if (it->second.desc == want) return it->second.reordered;
        }
    }
    memory user({dims, dt::f32, tag::oihw}, engine(), const_cast<float *>(w));
    memory out(want, engine());
    dnnl::reorder(user, out).execute(stream, user, out);
    stream.wait();
    if (key != 0) {
        std::lock_guard<std::mutex> guard(weights_lock);
        weights_cache.insert({key, CachedWeights{want, out}});
    }
    return out;
}

memory plain(const memory::dims &dims, const float *data, tag layout = tag::nchw) {
    return memory({dims, dt::f32, layout}, engine(), const_cast<float *>(data));
}

int fail(const char *what, char *error, size_t error_len) {
    if (error && error_len > 0) {
        std::snprintf(error, error_len, "%s", what);
    }
    return 1;
}

template <typename F>
int guarded(F body, char *error, size_t error_len) {
    try {
        body();
        return 0;
    } catch (const dnnl::error &e) {
        std::string what = std::string("oneDNN: ") + e.what();
        return fail(what.c_str(), error, error_len);
    } catch (const std::exception &e) {
        return fail(e.what(), error, error_len);
    }
}

}  // namespace

extern "C" {

/// oneDNN's version, as the library in use reports it.
void jeat_onednn_version(int32_t *major, int32_t *minor, int32_t *patch) {
    const dnnl_version_t *v = dnnl_version();
    *major = v->major;
    *minor = v->minor;
    *patch = v->patch;
}

/// `y = conv(x, w) + b`; `w_key` names the weights buffer for the reorder cache (0: no cache).
int jeat_onednn_conv_forward(const jeat_conv_shape *s, const float *x, const float *w,
                             uint64_t w_key, const float *b, float *y, char *error,
                             size_t error_len) {
    return guarded(
        [&] {
            auto p = primitives_of(*s, false, false);
            Geometry g = geometry(*s);
            dnnl::stream stream(engine());
            memory src = in_layout(plain(g.src, x), p->forward_pd->src_desc(), stream);
            memory wts = weights_in(w, w_key, g.weights, p->forward_pd->weights_desc(), stream);
            memory user_dst = plain(g.dst, y);
            bool direct = p->forward_pd->dst_desc() == user_dst.get_desc();
            memory dst = direct ? user_dst : memory(p->forward_pd->dst_desc(), engine());
            std::unordered_map<int, memory> args = {
                {DNNL_ARG_SRC, src},
                {DNNL_ARG_WEIGHTS, wts},
                {DNNL_ARG_DST, dst},
                {DNNL_ARG_SCRATCHPAD, scratch.of(p->forward_pd->scratchpad_desc())}};
            if (s->has_bias) args[DNNL_ARG_BIAS] = plain(g.bias, b, tag::x);
            p->forward->execute(stream, args);
            if (!direct) dnnl::reorder(dst, user_dst).execute(stream, dst, user_dst);
            stream.wait();
        },
        error, error_len);
}

/// `dx`, the gradient of the input, from `dy` and the weights.
int jeat_onednn_conv_backward_data(const jeat_conv_shape *s, const float *dy, const float *w,
                                   uint64_t w_key, float *dx, char *error, size_t error_len) {
    return guarded(
        [&] {
            auto p = primitives_of(*s, true, false);
            Geometry g = geometry(*s);
            dnnl::stream stream(engine());
            memory diff_dst = in_layout(plain(g.dst, dy), p->data_pd->diff_dst_desc(), stream);
            memory wts = weights_in(w, w_key, g.weights, p->data_pd->weights_desc(), stream);
            memory user_src = plain(g.src, dx);
            bool direct = p->data_pd->diff_src_desc() == user_src.get_desc();
            memory diff_src = direct ? user_src : memory(p->data_pd->diff_src_desc(), engine());
            p->data->execute(stream,
                             {{DNNL_ARG_DIFF_DST, diff_dst},
                              {DNNL_ARG_WEIGHTS, wts},
                              {DNNL_ARG_DIFF_SRC, diff_src},
                              {DNNL_ARG_SCRATCHPAD, scratch.of(p->data_pd->scratchpad_desc())}});
            if (!direct) dnnl::reorder(diff_src, user_src).execute(stream, diff_src, user_src);
            stream.wait();
        },
        error, error_len);
}

/// `dw` (and `db` where the convolution has a bias), the gradients of the weights and bias.
int jeat_onednn_conv_backward_weights(const jeat_conv_shape *s, const float *x, const float *dy,
                                      float *dw, float *db, char *error, size_t error_len) {
    return guarded(
        [&] {
            auto p = primitives_of(*s, false, true);
            Geometry g = geometry(*s);
            dnnl::stream stream(engine());
            memory src = in_layout(plain(g.src, x), p->weights_pd->src_desc(), stream);
            memory diff_dst = in_layout(plain(g.dst, dy), p->weights_pd->diff_dst_desc(), stream);
            memory user_w = plain(g.weights, dw, tag::oihw);
            bool direct = p->weights_pd->diff_weights_desc() == user_w.get_desc();
            memory diff_w =
                direct ? user_w : memory(p->weights_pd->diff_weights_desc(), engine());
            std::unordered_map<int, memory> args = {
                {DNNL_ARG_SRC, src},
                {DNNL_ARG_DIFF_DST, diff_dst},
                {DNNL_ARG_DIFF_WEIGHTS, diff_w},
                {DNNL_ARG_SCRATCHPAD, scratch.of(p->weights_pd->scratchpad_desc())}};
            if (s->has_bias) args[DNNL_ARG_DIFF_BIAS] = plain(g.bias, db, tag::x);
            p->weights->execute(stream, args);
            if (!direct) dnnl::reorder(diff_w, user_w).execute(stream, diff_w, user_w);
            stream.wait();
        },
        error, error_len);
}

/// Writes into `name` (NUL-terminated, at most `name_len` bytes) the implementation oneDNN
/// chose for the forward pass of `s` (e.g. `brgconv:avx512_core_amx`, `ref:any`).
int jeat_onednn_conv_implementation(const jeat_conv_shape *s, char *name, size_t name_len,
                                    char *error, size_t error_len) {
    return guarded(
        [&] {
            auto p = primitives_of(*s, false, false);
            std::snprintf(name, name_len, "%s", p->forward_pd->impl_info_str());
        },
        error, error_len);
}

/// Drops the reordered copies of the weights named `w_key` (their buffer is gone or changed).
void jeat_onednn_forget_weights(uint64_t w_key) {
    std::lock_guard<std::mutex> guard(weights_lock);
    weights_cache.erase(w_key);
}

}  // extern "C"
