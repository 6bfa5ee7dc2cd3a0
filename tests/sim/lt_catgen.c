/* lt_catgen: see lt_catgen.h. */
#include "lt_catgen.h"

#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* splitmix64: tiny, good enough, and the same on every machine. */
typedef struct {
    uint64_t s; /* state */
} rng_t;

static uint64_t rng_next(rng_t *r)
{
    uint64_t z = (r->s += 0x9E3779B97F4A7C15ULL);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
    return z ^ (z >> 31);
}

static uint64_t rng_below(rng_t *r, uint64_t n)
{
    return rng_next(r) % n;
}

static rng_t rng_for(uint64_t seed, uint64_t i)
{
    rng_t r = {seed * 0x100000001B3ULL ^ (i + 0x51ED270B)};
    rng_next(&r);
    return r;
}

#define PICK(r, arr) (arr[rng_below(r, sizeof(arr) / sizeof(arr[0]))])

static const char *const actions[] = {
    "Cấp",     "Cấp lại", "Cấp đổi",  "Điều chỉnh", "Gia hạn",
    "Đăng ký", "Thu hồi", "Xác nhận", "Chứng thực", "Thẩm định",
};
static const char *const objects[] = {
    "giấy phép xây dựng",
    "giấy chứng nhận quyền sử dụng đất",
    "giấy khai sinh",
    "giấy chứng nhận đăng ký hộ kinh doanh",
    "giấy phép lái xe",
    "chứng chỉ hành nghề dược",
    "giấy phép kinh doanh vận tải bằng xe ô tô",
    "giấy xác nhận tình trạng hôn nhân",
    "bản sao từ bản chính",
    "giấy phép môi trường",
    "giấy chứng nhận cơ sở đủ điều kiện an toàn thực phẩm",
    "giấy phép tổ chức lễ hội",
};
static const char *const qualifiers[] = {
    "",
    " cho công dân",
    " đối với doanh nghiệp",
    " có yếu tố nước ngoài",
    " tại cấp xã",
    " trong trường hợp bị mất, hư hỏng",
};
static const char *const fields[][2] = {
    {"G09-TP02", "Hộ tịch"},
    {"G09-TP05", "Chứng thực"},
    {"G10-XD01", "Quy hoạch xây dựng, kiến trúc"},
    {"G11-TN01", "Đất đai"},
    {"G12-GT03", "Đường bộ"},
    {"G13-YT04", "Dược phẩm"},
    {"G14-KH02", "Thành lập và hoạt động của hộ kinh doanh"},
    {"G03-GD10", "Giáo dục và Đào tạo"},
    {"G15-MT01", "Môi trường"},
    {"G16-VH02", "Văn hóa cơ sở"},
};
static const char *const agencies[][2] = {
    {"000.00.00.H56", "Ủy ban nhân dân tỉnh"}, {"000.22.00.H56", "Sở Tư pháp"},
    {"000.25.00.H56", "Sở Xây dựng"},          {"000.31.00.H56", "Sở Nông nghiệp và Môi trường"},
    {"000.00.06.H56", "Ủy ban nhân dân xã"},
};
static const char *const laws[][3] = {
    {"60/2014/QH13", "Luật Hộ tịch", "20/11/2014"},
    {"50/2014/QH13", "Luật Xây dựng", "18/06/2014"},
    {"123/2015/NĐ-CP", "Nghị định quy định chi tiết một số điều và biện pháp thi hành Luật Hộ tịch",
     "15/11/2015"},
    {"23/2015/NĐ-CP",
     "Nghị định về cấp bản sao từ sổ gốc, chứng thực bản sao từ bản chính, chứng thực chữ ký",
     "16/02/2015"},
    {"31/2024/QH15", "Luật Đất đai", "18/01/2024"},
    {"118/2025/NĐ-CP",
     "Nghị định về thực hiện thủ tục hành chính theo cơ chế một cửa, một cửa "
     "liên thông",
     "09/06/2025"},
};
static const char *const documents[] = {
    "Tờ khai theo mẫu", "Bản sao giấy tờ tùy thân",  "Giấy tờ chứng minh nơi cư trú",
    "Bản vẽ thiết kế",  "Văn bản ủy quyền (nếu có)", "Giấy chứng nhận đăng ký doanh nghiệp",
};
static const char *const level_names[] = {"Cấp Bộ", "Cấp Tỉnh", "Cấp Huyện", "Cấp Xã"};
static const char *const time_units[] = {"Ngày làm việc", "Ngày làm việc", "Ngày", "Giờ"};
static const int64_t fee_amounts[] = {0, 0, 8000, 20000, 50000, 100000, 150000, 500000};

static void code_of(uint64_t seed, uint64_t i, const char *province, char *buf, size_t cap)
{
    rng_t r = rng_for(seed, i);
    /* Unique by i: the six digits are 1000 + i. */
    int prefix = 1 + (int)rng_below(&r, 2);
    uint64_t shape = rng_below(&r, 10);
    if (shape < 4)
        snprintf(buf, cap, "%d.%06" PRIu64 ".000.00.00.%s", prefix, 1000 + i, province);
    else if (shape < 5)
        snprintf(buf, cap, "%d.%06" PRIu64 ".%s", prefix, 1000 + i, province);
    else
        snprintf(buf, cap, "%d.%06" PRIu64, prefix, 1000 + i);
}

static json_t *str_or_num(bool as_number, int64_t v)
{
    if (as_number)
        return json_integer(v);
    char b[32];
    snprintf(b, sizeof(b), "%" PRId64, v);
    return json_string(b);
}

json_t *lt_catgen_procedure(uint64_t seed, uint64_t i, const char *province)
{
    rng_t r = rng_for(seed, i);
    rng_next(&r); /* code_of used the first two draws' stream; keep them apart */
    rng_next(&r);
    char code[64], name[512];
    code_of(seed, i, province, code, sizeof(code));
    snprintf(name, sizeof(name), "%s %s%s", PICK(&r, actions), PICK(&r, objects),
             PICK(&r, qualifiers));
    /* One record in ten spells numbers as JSON numbers, as some exports do. */
    bool numbers = rng_below(&r, 10) == 0;
    json_t *rec = json_object();
    json_object_set_new(rec, "ID", json_integer((json_int_t)(100000 + i)));
    json_object_set_new(rec, "MATTHC", json_string(code));
    json_object_set_new(rec, "TENTTHC", json_string(name));
    json_object_set_new(rec, "TRANGTHAI", json_string(rng_below(&r, 40) == 0 ? "0" : "1"));
    json_object_set_new(rec, "LOAITTHC", json_string(rng_below(&r, 5) == 0 ? "2" : "1"));
    char decision[48];
    snprintf(decision, sizeof(decision), "%" PRIu64, 2000 + rng_below(&r, 900));
    json_object_set_new(rec, "IDQUYETDINHCONGBO", json_string(decision));

    json_t *levels = json_array();
    uint64_t mask = 1 + rng_below(&r, 15);
    for (int l = 0; l < 4; l++)
        if (mask & (1u << l))
            json_array_append_new(levels,
                                  json_pack("{s:o, s:s}", "CAPTHUCHIEN", str_or_num(numbers, l),
                                            "TENCAP", level_names[l]));
    json_object_set_new(rec, "CAPTHUCHIEN", levels);

    size_t f = rng_below(&r, sizeof(fields) / sizeof(fields[0]));
    json_object_set_new(
        rec, "LINHVUCTHUCHIEN",
        json_pack("[{s:s, s:s}]", "MALINHVUC", fields[f][0], "TENLINHVUC", fields[f][1]));
    size_t a = rng_below(&r, sizeof(agencies) / sizeof(agencies[0]));
    json_object_set_new(
        rec, "COQUANTHUCHIEN",
        json_pack("[{s:s, s:s}]", "MADONVI", agencies[a][0], "TENDONVI", agencies[a][1]));

    json_t *channels = json_array();
    int64_t base_time = 1 + (int64_t)rng_below(&r, 30);
    const char *unit = PICK(&r, time_units);
    int64_t fee = PICK(&r, fee_amounts);
    for (int k = 1; k <= 3; k++) {
        if (k > 1 && rng_below(&r, 3) == 0)
            continue;
        /* Online is often a day shorter and a little cheaper. */
        int64_t t = k == 2 && base_time > 1 ? base_time - 1 : base_time;
        int64_t amount = k == 2 ? fee / 2 : fee;
        json_t *times = json_pack("[{s:o, s:s, s:s}]", "THOIGIANGIAIQUYET", str_or_num(numbers, t),
                                  "DONVITINH", unit, "MOTA", "Kể từ ngày nhận đủ hồ sơ hợp lệ");
        json_t *fees = json_array();
        if (amount > 0)
            json_array_append_new(fees, json_pack("{s:s, s:o, s:s}", "MAPHILEPHI", "LP01", "SOTIEN",
                                                  str_or_num(numbers, amount), "MOTA", "Lệ phí"));
        json_array_append_new(channels, json_pack("{s:o, s:o, s:o}", "KENH", str_or_num(numbers, k),
                                                  "THOIGIAN", times, "PHILEPHI", fees));
    }
    json_object_set_new(rec, "CACHTHUCTHUCHIEN", channels);

    json_t *docs = json_array();
    uint64_t nd = 1 + rng_below(&r, 4);
    for (uint64_t d = 0; d < nd; d++)
        json_array_append_new(docs,
                              json_pack("{s:s, s:s, s:s}", "TENGIAYTO", documents[(i + d) % 6],
                                        "SOBANCHINH", "1", "SOBANSAO", d == 0 ? "0" : "1"));
    json_object_set_new(rec, "THANHPHANHOSO", docs);
    json_t *basis = json_array();
    uint64_t nl = 1 + rng_below(&r, 3);
    for (uint64_t l = 0; l < nl; l++) {
        size_t li = (size_t)((i + l * 2) % 6);
        json_array_append_new(basis,
                              json_pack("{s:s, s:s, s:s}", "SOVANBAN", laws[li][0], "TENVANBAN",
                                        laws[li][1], "NGAYBANHANH", laws[li][2]));
    }
    json_object_set_new(rec, "CANCUPHAPLY", basis);
    json_object_set_new(rec, "TRINHTUTHUCHIEN",
                        json_pack("[{s:s}, {s:s}, {s:s}]", "TENTRINHTU",
                                  "Bước 1: Nộp hồ sơ tại Bộ phận một cửa hoặc trực tuyến",
                                  "TENTRINHTU", "Bước 2: Cơ quan có thẩm quyền xem xét, giải quyết",
                                  "TENTRINHTU", "Bước 3: Trả kết quả"));
    json_object_set_new(rec, "DOITUONGTHUCHIEN",
                        json_pack("[{s:s, s:s}]", "MADOITUONG", rng_below(&r, 2) ? "1" : "2",
                                  "TENDOITUONG", "Công dân Việt Nam, tổ chức"));
    char result_code[32];
    snprintf(result_code, sizeof(result_code), "KQ%06" PRIu64, 1000 + i);
    json_object_set_new(rec, "KETQUATHUCHIEN",
                        json_pack("[{s:s, s:s}]", "MAKETQUA", result_code, "TENKETQUA",
                                  objects[i % (sizeof(objects) / sizeof(objects[0]))]));
    return rec;
}

/* A change that always alters the normalized content. */
void lt_catgen_change(json_t *rec, uint64_t seed, uint64_t i)
{
    rng_t r = rng_for(seed ^ 0xC4A9, i);
    json_t *ch = json_array_get(json_object_get(rec, "CACHTHUCTHUCHIEN"), 0);
    switch (rng_below(&r, 3)) {
    case 0: { /* a new time limit */
        json_t *t = json_array_get(json_object_get(ch, "THOIGIAN"), 0);
        json_t *v = json_object_get(t, "THOIGIANGIAIQUYET");
        long long now =
            json_is_integer(v) ? json_integer_value(v) : strtoll(json_string_value(v), NULL, 10);
        char b[32];
        snprintf(b, sizeof(b), "%lld", now + 1);
        json_object_set_new(t, "THOIGIANGIAIQUYET", json_string(b));
        break;
    }
    case 1: /* a new fee */
        json_array_append_new(json_object_get(ch, "PHILEPHI"),
                              json_pack("{s:s, s:s, s:s}", "MAPHILEPHI", "PHI02", "SOTIEN", "30000",
                                        "MOTA", "Phí thẩm định"));
        break;
    default: { /* a renamed procedure */
        char name[600];
        snprintf(name, sizeof(name), "%s (sửa đổi)",
                 json_string_value(json_object_get(rec, "TENTTHC")));
        json_object_set_new(rec, "TENTTHC", json_string(name));
        break;
    }
    }
}

unsigned char *lt_catgen_fates(uint64_t count, uint64_t n_change, uint64_t n_drop,
                               uint64_t change_seed)
{
    if (n_change + n_drop > count)
        return NULL;
    /* fate[i]: 0 as generated, 1 changed, 2 dropped; a seeded shuffle
     * picks exactly n_change then n_drop distinct records. */
    uint64_t *order = malloc(sizeof(*order) * (count ? count : 1));
    unsigned char *fate = calloc(count ? count : 1, 1);
    if (!order || !fate) {
        free(order);
        free(fate);
        return NULL;
    }
    for (uint64_t i = 0; i < count; i++)
        order[i] = i;
    rng_t sr = {change_seed};
    for (uint64_t i = count; i > 1; i--) {
        uint64_t j = rng_below(&sr, i);
        uint64_t t = order[i - 1];
        order[i - 1] = order[j];
        order[j] = t;
    }
    for (uint64_t k = 0; k < n_change + n_drop; k++)
        fate[order[k]] = k < n_change ? LT_CATGEN_CHANGED : LT_CATGEN_DROPPED;
    free(order);
    return fate;
}
