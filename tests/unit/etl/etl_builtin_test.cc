// Built-in ETL transforms (etl/builtin) on real data: digests against known vectors,
// decompression of data compressed here, images encoded here, shards written here.
#include <gtest/gtest.h>
#include <lz4frame.h>
#include <png.h>
#include <turbojpeg.h>
#include <zlib.h>
#include <zstd.h>

#include <cstring>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "common/archive/index_builder.h"
#include "common/archive/member_reader.h"
#include "common/archive/shard_writer.h"
#include "etl/transformer.h"

namespace aisle::etl {
namespace {

// ---- helpers ----

EtlSpec Spec(const std::string& builtin, const std::string& args = "",
             uint64_t max_output = 1ull << 30) {
  EtlSpec s;
  s.name = "t1";
  s.comm = Comm::kBuiltin;
  s.builtin = builtin;
  s.builtin_args = args;
  s.max_output = max_output;
  return s;
}

std::unique_ptr<Transformer> Make(const EtlSpec& spec) {
  auto t = MakeBuiltinTransformer(spec);
  EXPECT_TRUE(t.ok()) << t.status().ToString();
  if (!t.ok()) return nullptr;
  EXPECT_TRUE((*t)->Start().ok());
  return std::move(*t);
}

Result<std::string> Call(Transformer& t, std::string_view data, const std::string& args = "",
                         const std::string& object = "obj") {
  TransformInput in;
  in.data = data;
  in.bucket = "b";
  in.object = object;
  in.args = args;
  return t.Transform(in);
}

std::string Gzip(std::string_view s) {
  z_stream zs{};
  EXPECT_EQ(deflateInit2(&zs, 6, Z_DEFLATED, 16 + MAX_WBITS, 8, Z_DEFAULT_STRATEGY), Z_OK);
  std::string out(deflateBound(&zs, s.size()) + 64, '\0');
  zs.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(s.data()));
  zs.avail_in = static_cast<uInt>(s.size());
  zs.next_out = reinterpret_cast<Bytef*>(out.data());
  zs.avail_out = static_cast<uInt>(out.size());
  EXPECT_EQ(deflate(&zs, Z_FINISH), Z_STREAM_END);
  out.resize(zs.total_out);
  deflateEnd(&zs);
  return out;
}

// With a content checksum, as the lz4 CLI writes by default.
std::string Lz4(std::string_view s) {
  LZ4F_preferences_t prefs{};
  prefs.frameInfo.contentChecksumFlag = LZ4F_contentChecksumEnabled;
  std::string out(LZ4F_compressFrameBound(s.size(), &prefs), '\0');
  size_t n = LZ4F_compressFrame(out.data(), out.size(), s.data(), s.size(), &prefs);
  EXPECT_FALSE(LZ4F_isError(n));
  out.resize(n);
  return out;
}

std::string Zstd(std::string_view s) {
  std::string out(ZSTD_compressBound(s.size()), '\0');
  size_t n = ZSTD_compress(out.data(), out.size(), s.data(), s.size(), 3);
  EXPECT_FALSE(ZSTD_isError(n));
  out.resize(n);
  return out;
}

std::string Text(size_t n, uint32_t seed) {
  std::mt19937 rng(seed);
  std::string s(n, '\0');
  for (auto& c : s) c = static_cast<char>('a' + rng() % 7);
  return s;
}

struct Pixels {
  int w = 0, h = 0, c = 0;
  std::vector<uint8_t> px;
  const uint8_t* at(int x, int y) const { return px.data() + (size_t(y) * w + x) * c; }
};

Pixels Gradient(int w, int h, int c) {
  Pixels p{w, h, c, std::vector<uint8_t>(size_t(w) * h * c)};
  for (int y = 0; y < h; ++y) {
    for (int x = 0; x < w; ++x) {
      uint8_t* q = p.px.data() + (size_t(y) * w + x) * c;
      q[0] = static_cast<uint8_t>(x * 255 / (w - 1));
      if (c >= 3) {
        q[1] = static_cast<uint8_t>(y * 255 / (h - 1));
        q[2] = 128;
      }
      if (c == 2 || c == 4) q[c - 1] = 200;
    }
  }
  return p;
}

Pixels Solid(int w, int h, std::vector<uint8_t> colour) {
  int c = static_cast<int>(colour.size());
  Pixels p{w, h, c, std::vector<uint8_t>(size_t(w) * h * c)};
  for (size_t i = 0; i < p.px.size(); ++i) p.px[i] = colour[i % c];
  return p;
}

std::string EncodeJpeg(const Pixels& p, int quality = 90) {
  tjhandle h = tjInitCompress();
  unsigned char* buf = nullptr;
  unsigned long size = 0;  // NOLINT(runtime/int)
  int rc = tjCompress2(h, p.px.data(), p.w, 0, p.h, p.c == 1 ? TJPF_GRAY : TJPF_RGB, &buf, &size,
                       p.c == 1 ? TJSAMP_GRAY : TJSAMP_420, quality, 0);
  EXPECT_EQ(rc, 0) << tjGetErrorStr2(h);
  std::string out(reinterpret_cast<char*>(buf), size);
  tjFree(buf);
  tjDestroy(h);
  return out;
}

std::string EncodePng(const Pixels& p) {
  png_image img{};
  img.version = PNG_IMAGE_VERSION;
  img.width = p.w;
  img.height = p.h;
  const png_uint_32 fmts[] = {PNG_FORMAT_GRAY, PNG_FORMAT_GA, PNG_FORMAT_RGB, PNG_FORMAT_RGBA};
  img.format = fmts[p.c - 1];
  png_alloc_size_t size = PNG_IMAGE_PNG_SIZE_MAX(img);
  std::string out(size, '\0');
  EXPECT_TRUE(png_image_write_to_memory(&img, out.data(), &size, 0, p.px.data(), 0, nullptr));
  out.resize(size);
  return out;
}

bool IsPng(std::string_view d) { return d.size() > 8 && d.substr(1, 3) == "PNG"; }
bool IsJpeg(std::string_view d) {
  return d.size() > 3 && static_cast<unsigned char>(d[0]) == 0xff &&
         static_cast<unsigned char>(d[1]) == 0xd8;
}

// Decodes JPEG or PNG keeping the stored channel count (gray stays gray, alpha stays).
Pixels Decode(std::string_view d) {
  Pixels p;
  if (IsJpeg(d)) {
    tjhandle h = tjInitDecompress();
    int sub = 0, cs = 0;
    EXPECT_EQ(tjDecompressHeader3(h, reinterpret_cast<const unsigned char*>(d.data()), d.size(),
                                  &p.w, &p.h, &sub, &cs),
              0);
    p.c = cs == TJCS_GRAY ? 1 : 3;
    p.px.resize(size_t(p.w) * p.h * p.c);
    EXPECT_EQ(tjDecompress2(h, reinterpret_cast<const unsigned char*>(d.data()), d.size(),
                            p.px.data(), p.w, 0, p.h, p.c == 1 ? TJPF_GRAY : TJPF_RGB, 0),
              0);
    tjDestroy(h);
  } else if (IsPng(d)) {
    png_image img{};
    img.version = PNG_IMAGE_VERSION;
    EXPECT_TRUE(png_image_begin_read_from_memory(&img, d.data(), d.size()));
    img.format &= PNG_FORMAT_FLAG_ALPHA | PNG_FORMAT_FLAG_COLOR;
    p.w = img.width;
    p.h = img.height;
    p.c = PNG_IMAGE_PIXEL_CHANNELS(img.format);
    p.px.resize(PNG_IMAGE_SIZE(img));
    EXPECT_TRUE(png_image_finish_read(&img, nullptr, p.px.data(), 0, nullptr));
  } else {
    ADD_FAILURE() << "output is neither JPEG nor PNG";
  }
  return p;
}

// Largest difference of any pixel from colour.
int MaxDiff(const Pixels& p, const std::vector<uint8_t>& colour) {
  int worst = 0;
  for (size_t i = 0; i < p.px.size(); ++i) {
    worst = std::max(worst, std::abs(int(p.px[i]) - int(colour[i % colour.size()])));
  }
  return worst;
}

struct Item {
  std::string name, data;
};

std::string WriteShard(archive::Format f, const std::vector<Item>& items) {
  std::string out;
  auto w = archive::ShardWriter::Open(f, [&](std::string_view b) {
    out.append(b);
    return Status::OK();
  });
  EXPECT_TRUE(w.ok()) << w.status().ToString();
  for (const auto& it : items) {
    size_t pos = 0;
    Status st = (*w)->Add(it.name, it.data.size(), 0644, 1700000000,
                          [&](char* buf, size_t n) -> Result<size_t> {
                            size_t k = std::min(n, it.data.size() - pos);
                            std::memcpy(buf, it.data.data() + pos, k);
                            pos += k;
                            return k;
                          });
    EXPECT_TRUE(st.ok()) << st.ToString();
  }
  EXPECT_TRUE((*w)->Finish().ok());
  return out;
}

std::vector<Item> ReadShard(std::string_view shard) {
  archive::MemorySource src(shard);
  auto idx = archive::BuildIndex(src, archive::Format::kUnknown, archive::Limits{});
  EXPECT_TRUE(idx.ok()) << idx.status().ToString();
  std::vector<Item> items;
  if (!idx.ok()) return items;
  for (const auto& m : idx->members) {
    Item it{m.name, ""};
    Status st = archive::ReadMember(src, *idx, m, 0, m.size, [&](std::string_view b) {
      it.data.append(b);
      return Status::OK();
    });
    EXPECT_TRUE(st.ok()) << st.ToString();
    items.push_back(std::move(it));
  }
  return items;
}

// An error of status code `want` whose message contains `needle`.
#define EXPECT_CODE(expr, want, needle)                                                         \
  do {                                                                                          \
    auto _r = (expr);                                                                           \
    EXPECT_FALSE(_r.ok());                                                                      \
    EXPECT_EQ(_r.status().code(), want) << _r.status().ToString();                              \
    EXPECT_NE(_r.status().message().find(needle), std::string::npos) << _r.status().ToString(); \
  } while (0)

// ---- spec and arguments ----

TEST(EtlBuiltin, UnknownBuiltinAndBadDefaultArgs) {
  EXPECT_CODE(MakeBuiltinTransformer(Spec("frobnicate")), StatusCode::kInvalidArgument,
              "frobnicate");
  EXPECT_CODE(MakeBuiltinTransformer(Spec("md5", "salt=1")), StatusCode::kInvalidArgument,
              "'salt'");
  EXPECT_CODE(MakeBuiltinTransformer(Spec("image-resize", "quality=101")),
              StatusCode::kInvalidArgument, "quality");
  EXPECT_CODE(MakeBuiltinTransformer(Spec("image-resize", "size")), StatusCode::kInvalidArgument,
              "size");
  EXPECT_CODE(MakeBuiltinTransformer(Spec("decompress", "format=rar")),
              StatusCode::kInvalidArgument, "rar");
  EXPECT_CODE(MakeBuiltinTransformer(Spec("shard-map", "inner=shard-map")),
              StatusCode::kInvalidArgument, "inner");
  EXPECT_CODE(MakeBuiltinTransformer(Spec("shard-map", "inner=md5,bogus=2")),
              StatusCode::kInvalidArgument, "bogus");
  // The message names the ETL and the transform.
  auto r = MakeBuiltinTransformer(Spec("image-resize", "crop=x"));
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("etl t1: image-resize"), std::string::npos)
      << r.status().message();
  // shard-map's inner may come with the request.
  EXPECT_TRUE(MakeBuiltinTransformer(Spec("shard-map")).ok());
}

TEST(EtlBuiltin, PerCallArgsAreValidatedAndOverrideDefaults) {
  auto t = Make(Spec("image-resize", "size=32"));
  std::string png = EncodePng(Solid(64, 64, {10, 20, 30}));
  EXPECT_CODE(Call(*t, png, "quality=abc"), StatusCode::kInvalidArgument, "quality");
  EXPECT_CODE(Call(*t, png, "colour=red"), StatusCode::kInvalidArgument, "colour");
  EXPECT_CODE(Call(*t, png, "width=10"), StatusCode::kInvalidArgument, "height");
  auto d = Call(*t, png);
  ASSERT_TRUE(d.ok()) << d.status().ToString();
  EXPECT_EQ(Decode(*d).w, 32);
  auto o = Call(*t, png, "size=16");
  ASSERT_TRUE(o.ok()) << o.status().ToString();
  EXPECT_EQ(Decode(*o).w, 16);

  auto z = Make(Spec("decompress", "format=gz"));
  std::string text = Text(1000, 1);
  EXPECT_FALSE(Call(*z, Zstd(text)).ok());
  auto r = Call(*z, Zstd(text), "format=zst");
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(*r, text);
}

// ---- digests ----

TEST(EtlBuiltin, DigestsOfKnownVectors) {
  EXPECT_EQ(*Call(*Make(Spec("md5")), "abc"), "900150983cd24fb0d6963f7d28e17f72");
  EXPECT_EQ(*Call(*Make(Spec("md5")), ""), "d41d8cd98f00b204e9800998ecf8427e");
  EXPECT_EQ(*Call(*Make(Spec("sha256")), "abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  EXPECT_EQ(*Call(*Make(Spec("xxhash")), "abc"), "44bc2cf5ad770999");
  EXPECT_EQ(*Call(*Make(Spec("xxhash")), ""), "ef46db3751d8e999");
  EXPECT_EQ(*Call(*Make(Spec("identity")), "hello\0x"), "hello");
  std::string bin("a\0b\xff", 4);
  EXPECT_EQ(*Call(*Make(Spec("identity")), bin), bin);
  EXPECT_CODE(Call(*Make(Spec("identity", "", 3)), bin), StatusCode::kTooLarge, "max_output");
}

TEST(EtlBuiltin, ConcurrentCallsAreBoundedAndCorrect) {
  EtlSpec s = Spec("sha256");
  s.concurrency = 2;
  auto t = Make(s);
  std::vector<std::thread> threads;
  std::atomic<int> good{0};
  for (int i = 0; i < 8; ++i) {
    threads.emplace_back([&] {
      for (int k = 0; k < 50; ++k) {
        auto r = Call(*t, "abc");
        if (r.ok() && *r == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad") {
          ++good;
        }
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(good.load(), 400);
  EXPECT_EQ(t->Health(), "");
  t->Stop();
}

// ---- decompress ----

TEST(EtlBuiltin, DecompressAllFormatsAutoAndMultiFrame) {
  auto t = Make(Spec("decompress"));
  std::string a = Text(200'000, 2), b = Text(12'345, 3);
  for (auto* enc : {&Gzip, &Lz4, &Zstd}) {
    auto one = Call(*t, enc(a));
    ASSERT_TRUE(one.ok()) << one.status().ToString();
    EXPECT_EQ(*one, a);
    // Concatenated gzip members / lz4 frames / zstd frames decode as one stream.
    auto two = Call(*t, enc(a) + enc(b));
    ASSERT_TRUE(two.ok()) << two.status().ToString();
    EXPECT_EQ(*two, a + b);
    auto empty = Call(*t, enc(""));
    ASSERT_TRUE(empty.ok()) << empty.status().ToString();
    EXPECT_EQ(*empty, "");
  }
  EXPECT_EQ(*Call(*t, Gzip(a), "format=gz"), a);
  EXPECT_EQ(*Call(*t, Lz4(a), "format=lz4"), a);
  EXPECT_EQ(*Call(*t, Zstd(a), "format=zst"), a);
}

TEST(EtlBuiltin, DecompressRejectsGarbageAndTruncation) {
  auto t = Make(Spec("decompress"));
  EXPECT_CODE(Call(*t, "just some text"), StatusCode::kInvalidArgument,
              "not gzip, lz4 or zstd data");
  EXPECT_CODE(Call(*t, ""), StatusCode::kInvalidArgument, "not gzip, lz4 or zstd data");
  std::string a = Text(100'000, 4);
  for (auto* enc : {&Gzip, &Lz4, &Zstd}) {
    std::string c = enc(a);
    auto cut = Call(*t, std::string_view(c).substr(0, c.size() / 2));
    EXPECT_FALSE(cut.ok());
    auto cut_end = Call(*t, std::string_view(c).substr(0, c.size() - 1));
    EXPECT_FALSE(cut_end.ok());
    // Flipped bytes in the middle of the data (checksums catch what parsing does not).
    std::string bad = c;
    for (size_t i = bad.size() / 2; i < bad.size() / 2 + 16; ++i)
      bad[i] = static_cast<char>(~bad[i]);
    EXPECT_FALSE(Call(*t, bad).ok());
  }
  EXPECT_FALSE(Call(*t, "not gzip at all", "format=gz").ok());
  EXPECT_FALSE(Call(*t, "not lz4 at all", "format=lz4").ok());
  EXPECT_FALSE(Call(*t, "not zstd at all", "format=zst").ok());
}

TEST(EtlBuiltin, DecompressionBombIsTooLarge) {
  std::string zeros(20 << 20, '\0');  // 20 MiB -> a few KiB compressed
  auto t = Make(Spec("decompress", "", 1 << 20));
  for (auto* enc : {&Gzip, &Lz4, &Zstd}) {
    std::string c = enc(zeros);
    EXPECT_LT(c.size(), 100u << 10);
    EXPECT_CODE(Call(*t, c), StatusCode::kTooLarge, "max_output");
  }
  // Exactly at the limit is fine.
  auto exact = Make(Spec("decompress", "", 1 << 20));
  auto r = Call(*exact, Zstd(std::string_view(zeros).substr(0, 1 << 20)));
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->size(), 1u << 20);
}

// ---- image-resize ----

TEST(EtlBuiltin, ImageResizeJpegShorterSideAndCrop) {
  std::string jpg = EncodeJpeg(Gradient(640, 480, 3));
  auto t = Make(Spec("image-resize"));
  auto r = Call(*t, jpg, "size=256");
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  ASSERT_TRUE(IsJpeg(*r));
  Pixels p = Decode(*r);
  EXPECT_EQ(p.w, 341);  // torchvision: int(256 * 640 / 480)
  EXPECT_EQ(p.h, 256);
  // The horizontal gradient survives: red grows left to right, ends near 0 and 255.
  EXPECT_LT(p.at(2, 128)[0], 12);
  EXPECT_GT(p.at(338, 128)[0], 243);
  EXPECT_NEAR(p.at(170, 128)[0], 127, 6);
  EXPECT_NEAR(p.at(170, 128)[2], 128, 6);

  auto c = Call(*t, jpg, "size=256,crop=224");
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  Pixels q = Decode(*c);
  EXPECT_EQ(q.w, 224);
  EXPECT_EQ(q.h, 224);
  // Center crop of 341 wide: starts at round(58.5) = 58, so red at x=0 is ~58*255/340.
  EXPECT_NEAR(q.at(0, 112)[0], 58 * 255 / 340, 8);
  EXPECT_NEAR(q.at(112, 112)[0], 127, 6);

  auto e = Call(*t, jpg, "width=100,height=50,format=png");
  ASSERT_TRUE(e.ok()) << e.status().ToString();
  ASSERT_TRUE(IsPng(*e));
  Pixels s = Decode(*e);
  EXPECT_EQ(s.w, 100);
  EXPECT_EQ(s.h, 50);
  EXPECT_EQ(s.c, 3);
}

TEST(EtlBuiltin, ImageResizeSolidColourStaysThatColour) {
  const std::vector<uint8_t> colour = {200, 100, 50};
  auto t = Make(Spec("image-resize"));
  std::string jpg = EncodeJpeg(Solid(300, 200, colour));
  for (std::string args : {"size=64", "size=37,crop=30", "width=640,height=480", "crop=100"}) {
    auto r = Call(*t, jpg, args);
    ASSERT_TRUE(r.ok()) << args << ": " << r.status().ToString();
    EXPECT_LE(MaxDiff(Decode(*r), colour), 3) << args;
  }
  // PNG is lossless and the filters have unit gain: exact.
  std::string png = EncodePng(Solid(300, 200, colour));
  for (std::string args : {"size=64", "size=37,crop=30", "width=640,height=480"}) {
    auto r = Call(*t, png, args);
    ASSERT_TRUE(r.ok()) << args << ": " << r.status().ToString();
    ASSERT_TRUE(IsPng(*r));
    EXPECT_EQ(MaxDiff(Decode(*r), colour), 0) << args;
  }
}

TEST(EtlBuiltin, ImageResizePngGradientIsAccurate) {
  // Linear ramp: area averaging and bilinear both keep pixel centers on the ramp.
  Pixels g = Gradient(1021, 64, 1);
  auto t = Make(Spec("image-resize"));
  for (int w : {100, 333, 2000}) {
    auto r = Call(*t, EncodePng(g), "width=" + std::to_string(w) + ",height=32");
    ASSERT_TRUE(r.ok()) << r.status().ToString();
    Pixels p = Decode(*r);
    ASSERT_EQ(p.w, w);
    ASSERT_EQ(p.c, 1);
    for (int x = 0; x < w; ++x) {
      double src = std::clamp((x + 0.5) * 1021.0 / w - 0.5, 0.0, 1020.0);
      EXPECT_NEAR(p.at(x, 16)[0], src * 255 / 1020, 2.0) << "w=" << w << " x=" << x;
    }
  }
}

TEST(EtlBuiltin, ImageResizeGrayAlphaAndPadding) {
  auto t = Make(Spec("image-resize"));
  // Grayscale JPEG stays grayscale.
  auto g = Call(*t, EncodeJpeg(Solid(120, 90, {77})), "size=45");
  ASSERT_TRUE(g.ok()) << g.status().ToString();
  Pixels gp = Decode(*g);
  EXPECT_EQ(gp.c, 1);
  EXPECT_EQ(gp.w, 60);
  EXPECT_EQ(gp.h, 45);
  EXPECT_LE(MaxDiff(gp, {77}), 2);
  // RGBA PNG keeps alpha as PNG, loses it as JPEG.
  std::string rgba = EncodePng(Solid(80, 80, {10, 200, 30, 128}));
  auto a = Call(*t, rgba, "size=40");
  ASSERT_TRUE(a.ok()) << a.status().ToString();
  Pixels ap = Decode(*a);
  EXPECT_EQ(ap.c, 4);
  EXPECT_EQ(MaxDiff(ap, {10, 200, 30, 128}), 0);
  auto j = Call(*t, rgba, "size=40,format=jpeg,quality=95");
  ASSERT_TRUE(j.ok()) << j.status().ToString();
  Pixels jp = Decode(*j);
  EXPECT_EQ(jp.c, 3);
  EXPECT_LE(MaxDiff(jp, {10, 200, 30}), 4);
  // A crop larger than the image pads with black, as torchvision's CenterCrop does.
  auto p = Call(*t, EncodePng(Solid(10, 6, {255, 255, 255})), "crop=10");
  ASSERT_TRUE(p.ok()) << p.status().ToString();
  Pixels pp = Decode(*p);
  ASSERT_EQ(pp.w, 10);
  ASSERT_EQ(pp.h, 10);
  EXPECT_EQ(pp.at(5, 0)[0], 0);  // (10 - 6) / 2 = 2 padded rows on top
  EXPECT_EQ(pp.at(5, 1)[0], 0);
  EXPECT_EQ(pp.at(5, 2)[0], 255);
  EXPECT_EQ(pp.at(5, 7)[0], 255);
  EXPECT_EQ(pp.at(5, 8)[0], 0);
}

TEST(EtlBuiltin, ImageResizeRejectsCorruptAndHugeImages) {
  auto t = Make(Spec("image-resize", "size=32"));
  EXPECT_CODE(Call(*t, "GIF89a......"), StatusCode::kInvalidArgument, "not a JPEG or PNG image");
  EXPECT_CODE(Call(*t, ""), StatusCode::kInvalidArgument, "not a JPEG or PNG image");
  std::string jpg = EncodeJpeg(Gradient(200, 200, 3));
  EXPECT_CODE(Call(*t, std::string_view(jpg).substr(0, jpg.size() / 2)),
              StatusCode::kInvalidArgument, "corrupt JPEG");
  EXPECT_CODE(Call(*t, std::string_view(jpg).substr(0, 40)), StatusCode::kInvalidArgument,
              "corrupt JPEG");
  std::string png = EncodePng(Gradient(200, 200, 3));
  EXPECT_CODE(Call(*t, std::string_view(png).substr(0, png.size() / 2)),
              StatusCode::kInvalidArgument, "corrupt PNG");
  std::string bad = png;
  for (size_t i = 100; i < 140; ++i) bad[i] = static_cast<char>(i);
  EXPECT_FALSE(Call(*t, bad).ok());
  // A PNG header claiming 20000 x 20000 pixels is refused before anything is allocated.
  std::string huge = png;
  const unsigned char dims[8] = {0, 0, 0x4e, 0x20, 0, 0, 0x4e, 0x20};
  std::memcpy(huge.data() + 16, dims, 8);
  EXPECT_FALSE(Call(*t, huge).ok());
  // Merging is key by key: the default size=32 stays, and conflicts with width/height.
  EXPECT_CODE(Call(*t, EncodePng(Solid(8, 8, {1, 2, 3})), "width=20,height=20"),
              StatusCode::kInvalidArgument, "size");
  auto plain = Make(Spec("image-resize"));
  auto big = Call(*plain, EncodePng(Solid(8, 8, {1, 2, 3})), "width=20000,height=20000");
  EXPECT_CODE(big, StatusCode::kTooLarge, "pixels");
  // The encoded output counts against max_output.
  auto small = Make(Spec("image-resize", "", 100));
  EXPECT_CODE(Call(*small, EncodePng(Gradient(64, 64, 3))), StatusCode::kTooLarge, "max_output");
}

// ---- shard-map ----

TEST(EtlBuiltin, ShardMapMd5OverTarZipAndCompressedTars) {
  std::vector<Item> items = {{"a/one.txt", "abc"}, {"two.txt", ""}, {"x.bin", "hello"}};
  const std::string md5_abc = "900150983cd24fb0d6963f7d28e17f72";
  const std::string md5_empty = "d41d8cd98f00b204e9800998ecf8427e";
  const std::string md5_hello = "5d41402abc4b2a76b9719d911017c592";
  auto t = Make(Spec("shard-map", "inner=md5"));
  for (auto f : {archive::Format::kTar, archive::Format::kZip, archive::Format::kTgz,
                 archive::Format::kTarLz4, archive::Format::kTarZst}) {
    std::string shard = WriteShard(f, items);
    std::string name = std::string("s") + archive::FormatExtension(f);
    auto r = Call(*t, shard, "", name);
    ASSERT_TRUE(r.ok()) << name << ": " << r.status().ToString();
    EXPECT_EQ(archive::FormatFromMagic(r->substr(0, 512)), f) << name;
    auto out = ReadShard(*r);
    ASSERT_EQ(out.size(), 3u) << name;
    EXPECT_EQ(out[0].name, "a/one.txt");
    EXPECT_EQ(out[0].data, md5_abc);
    EXPECT_EQ(out[1].name, "two.txt");
    EXPECT_EQ(out[1].data, md5_empty);
    EXPECT_EQ(out[2].data, md5_hello);

    // Renaming, and detection by magic bytes when the name says nothing.
    auto rn = Call(*t, shard, "ext=txt:md5", "noext");
    ASSERT_TRUE(rn.ok()) << name << ": " << rn.status().ToString();
    auto out2 = ReadShard(*rn);
    ASSERT_EQ(out2.size(), 3u);
    EXPECT_EQ(out2[0].name, "a/one.md5");
    EXPECT_EQ(out2[0].data, md5_abc);
    EXPECT_EQ(out2[1].name, "two.md5");
    EXPECT_EQ(out2[2].name, "x.bin");
  }
}

TEST(EtlBuiltin, ShardMapPassesArgsToInnerAndReportsErrors) {
  std::string png = EncodePng(Solid(64, 48, {9, 99, 199}));
  std::string shard = WriteShard(archive::Format::kTar, {{"0001.png", png}, {"0002.png", png}});
  auto t = Make(Spec("shard-map"));
  auto r = Call(*t, shard, "inner=image-resize,size=24,format=jpeg,ext=png:jpg", "s.tar");
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  auto out = ReadShard(*r);
  ASSERT_EQ(out.size(), 2u);
  EXPECT_EQ(out[0].name, "0001.jpg");
  Pixels p = Decode(out[1].data);
  EXPECT_EQ(p.w, 32);
  EXPECT_EQ(p.h, 24);
  EXPECT_LE(MaxDiff(p, {9, 99, 199}), 4);

  EXPECT_CODE(Call(*t, shard, "", "s.tar"), StatusCode::kInvalidArgument, "inner");
  EXPECT_CODE(Call(*t, shard, "inner=image-resize,sise=3", "s.tar"), StatusCode::kInvalidArgument,
              "sise");
  EXPECT_CODE(Call(*t, shard, "inner=md5,ext=png", "s.tar"), StatusCode::kInvalidArgument, "ext");
  // An inner failure names the member.
  std::string mixed = WriteShard(archive::Format::kTar, {{"ok.png", png}, {"bad.png", "nope"}});
  EXPECT_CODE(Call(*t, mixed, "inner=image-resize,size=8", "m.tar"), StatusCode::kInvalidArgument,
              "bad.png");
  EXPECT_FALSE(Call(*t, "definitely not a shard", "inner=md5", "x").ok());
  EXPECT_FALSE(Call(*t, std::string_view(shard).substr(0, 700), "inner=md5", "s.tar").ok());
  // The output shard counts against max_output.
  auto small = Make(Spec("shard-map", "inner=identity", 2000));
  EXPECT_CODE(Call(*small, shard, "", "s.tar"), StatusCode::kTooLarge, "max_output");
}

}  // namespace
}  // namespace aisle::etl
