/* lt_dossiergen: realistic canonical dossier records for the sender tool and
 * the ingest benchmark (lt_dossiergen.h says what a record's life is). Why
 * text instead of jansson: the sender must not compete with the gateway for
 * the machine's two CPUs more than it has to. Every string written here
 * comes from the tables below or from digits, so only the caller's agency
 * and procedure codes need escaping. */
#include "lt_dossiergen.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define N_DAYS        3650u     /* code dates: 2016-01-01 and the next 3,649 days */
#define CODES_PER_DAY 10000000u /* NNNNNNN */
#define CODES_PER_RUN 100000u   /* codes reserved per unit of run id */
#define MAX_PATH      8         /* statuses in the longest life */

int lt_dgen_buf_add(lt_dgen_buf *b, const char *s, size_t n)
{
    if (b->len + n + 1 > b->cap) {
        size_t cap = b->cap ? b->cap : 4096;
        while (cap < b->len + n + 1)
            cap *= 2;
        char *p = realloc(b->data, cap);
        if (!p)
            return -1;
        b->data = p;
        b->cap = cap;
    }
    memcpy(b->data + b->len, s, n);
    b->len += n;
    b->data[b->len] = '\0';
    return 0;
}

int lt_dgen_buf_printf(lt_dgen_buf *b, const char *fmt, ...)
{
    char small[512];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(small, sizeof(small), fmt, ap);
    va_end(ap);
    if (n < 0)
        return -1;
    if ((size_t)n < sizeof(small))
        return lt_dgen_buf_add(b, small, (size_t)n);
    char *big = malloc((size_t)n + 1);
    if (!big)
        return -1;
    va_start(ap, fmt);
    vsnprintf(big, (size_t)n + 1, fmt, ap);
    va_end(ap);
    int rc = lt_dgen_buf_add(b, big, (size_t)n);
    free(big);
    return rc;
}

void lt_dgen_buf_reset(lt_dgen_buf *b)
{
    b->len = 0;
    if (b->data)
        b->data[0] = '\0';
}

void lt_dgen_buf_free(lt_dgen_buf *b)
{
    free(b->data);
    *b = (lt_dgen_buf){0};
}

/* A printf for the record writer: only %s, %.Ns, %u, %0Nu and %d, each
 * copied straight into the buffer. vsnprintf spent most of the generator's
 * time (perf: 60 % in its internals), and the sender shares the machine
 * with the gateway it measures. */
static int fast_add(lt_dgen_buf *b, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int rc = 0;
    const char *p = fmt;
    while (*p && rc == 0) {
        const char *pc = strchr(p, '%');
        size_t run = pc ? (size_t)(pc - p) : strlen(p);
        if (run) {
            rc = lt_dgen_buf_add(b, p, run);
            p += run;
            continue;
        }
        p++;
        bool zero = *p == '0';
        unsigned width = 0, prec = 0;
        bool has_prec = false;
        while (*p >= '0' && *p <= '9')
            width = width * 10 + (unsigned)(*p++ - '0');
        if (*p == '.') {
            has_prec = true;
            p++;
            while (*p >= '0' && *p <= '9')
                prec = prec * 10 + (unsigned)(*p++ - '0');
        }
        char conv = *p ? *p++ : '\0';
        if (conv == 's') {
            const char *v = va_arg(ap, const char *);
            rc = lt_dgen_buf_add(b, v, has_prec ? strnlen(v, prec) : strlen(v));
        } else if (conv == 'u' || conv == 'd') {
            char digits[24], *e = digits + sizeof(digits), *d = e;
            long long v = conv == 'u' ? (long long)va_arg(ap, unsigned) : va_arg(ap, int);
            bool neg = v < 0;
            unsigned long long u = neg ? (unsigned long long)-v : (unsigned long long)v;
            do {
                *--d = (char)('0' + u % 10);
                u /= 10;
            } while (u);
            while ((unsigned)(e - d) < width && d > digits + 1)
                *--d = zero ? '0' : ' ';
            if (neg)
                *--d = '-';
            rc = lt_dgen_buf_add(b, d, (size_t)(e - d));
        } else if (conv == '%') {
            rc = lt_dgen_buf_add(b, "%", 1);
        } else {
            rc = -1; /* a format this writer does not know */
        }
    }
    va_end(ap);
    return rc;
}

struct lt_dgen {
    uint64_t seed;     /* content */
    uint64_t run_id;   /* codes */
    char *agency;      /* code prefix, JSON-escaped */
    char **procedures; /* procedure codes, JSON-escaped */
    size_t n_procedures;
};

/* ---- randomness: splitmix64 over (seed, dossier, purpose) ------------------ */

static uint64_t mix(uint64_t x)
{
    x += 0x9e3779b97f4a7c15ull;
    x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
    x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
    return x ^ (x >> 31);
}

/* A stream of numbers for one dossier and one purpose. */
typedef struct rng {
    uint64_t s;
} rng;

static rng rng_for(const lt_dgen *g, uint64_t i, uint64_t purpose)
{
    return (rng){mix(mix(g->seed ^ 0x6c74646f73736965ull) ^ mix(i) ^ (purpose << 56))};
}

static uint64_t next(rng *r)
{
    r->s += 0x9e3779b97f4a7c15ull;
    return mix(r->s);
}

static unsigned pick(rng *r, unsigned n)
{
    return (unsigned)(next(r) % n);
}

#define PICK(r, arr) (arr[pick((r), (unsigned)(sizeof(arr) / sizeof(arr[0])))])

/* ---- the tables ----------------------------------------------------------- */

static const char *const family[] = {
    "Nguyễn", "Trần", "Lê",  "Phạm", "Hoàng", "Huỳnh", "Phan",  "Vũ",
    "Võ",     "Đặng", "Bùi", "Đỗ",   "Hồ",    "Ngô",   "Dương", "Lý",
};
static const char *const family_ascii[] = {
    "nguyen", "tran", "le",  "pham", "hoang", "huynh", "phan",  "vu",
    "vo",     "dang", "bui", "do",   "ho",    "ngo",   "duong", "ly",
};
static const char *const middle_m[] = {"Văn", "Đức", "Minh", "Quang", "Hữu", "Công", "Thành"};
static const char *const middle_f[] = {"Thị", "Ngọc", "Thu", "Thanh", "Kim", "Minh", "Hoài"};
static const char *const given_m[] = {"An",    "Bình", "Cường", "Dũng",  "Hải",  "Hùng",
                                      "Khánh", "Long", "Nam",   "Phong", "Quân", "Sơn",
                                      "Trung", "Tuấn", "Việt",  "Khôi"};
static const char *const given_m_ascii[] = {"an",    "binh", "cuong", "dung",  "hai",  "hung",
                                            "khanh", "long", "nam",   "phong", "quan", "son",
                                            "trung", "tuan", "viet",  "khoi"};
static const char *const given_f[] = {"Anh",   "Chi",   "Giang", "Hà",  "Hạnh", "Hoa",
                                      "Hương", "Lan",   "Linh",  "Mai", "Nga",  "Phương",
                                      "Thảo",  "Trang", "Vy",    "Yến"};
static const char *const given_f_ascii[] = {"anh",   "chi",   "giang", "ha",  "hanh", "hoa",
                                            "huong", "lan",   "linh",  "mai", "nga",  "phuong",
                                            "thao",  "trang", "vy",    "yen"};
static const char *const mail_domain[] = {"gmail.com", "yahoo.com.vn", "outlook.com", "vnpt.vn",
                                          "example.vn"};
static const char *const phone_prefix[] = {"032", "033", "034", "035", "036", "037", "038",
                                           "039", "086", "096", "097", "098", "091", "094",
                                           "088", "070", "076", "077", "078", "079", "081",
                                           "083", "084", "085", "056", "058", "090", "093"};
/* CCCD: the first three digits are the province of birth registration. */
static const char *const cccd_province[] = {"001", "026", "024", "022", "027", "030", "031", "033",
                                            "034", "035", "036", "037", "038", "040", "042", "079"};
static const char *const street[] = {
    "Nguyễn Tất Thành", "Trần Phú",      "Lê Lợi",     "Hai Bà Trưng", "Lý Thường Kiệt",
    "Ngô Quyền",        "Hùng Vương",    "Kim Ngọc",   "Mê Linh",      "Tôn Đức Thắng",
    "Nguyễn Trãi",      "Phạm Văn Đồng", "Chu Văn An", "Lam Sơn",      "Trần Hưng Đạo",
};
static const char *const ward[] = {"phường Liên Bảo",   "phường Ngô Quyền",  "phường Đống Đa",
                                   "phường Hùng Vương", "phường Trưng Trắc", "xã Thanh Trù",
                                   "xã Định Trung",     "phường Khai Quang", "xã Cao Minh"};
static const char *const city[] = {"TP Vĩnh Yên", "TP Phúc Yên", "huyện Bình Xuyên"};

/* What a procedure is about: the name and field of one commune-level
 * procedure family; paired with the caller's codes by position. */
struct topic {
    const char *name;       /* TenTTHC */
    const char *field_code; /* MaLinhVuc */
    const char *field_name; /* TenLinhVuc */
    const char *summary;    /* TrichYeuHoSo, before the applicant's name */
    const char *result;     /* TenGiayTo of the result */
    const char *doc1;       /* first submitted paper */
    const char *doc2;       /* second submitted paper */
    unsigned days;          /* time limit in days */
    unsigned fee;           /* VND, 0 = free */
};
static const struct topic topics[] = {
    {"Đăng ký khai sinh", "G09-HT01", "Hộ tịch", "Đăng ký khai sinh cho con của", "Giấy khai sinh",
     "Giấy chứng sinh", "Giấy chứng nhận kết hôn của cha mẹ", 1, 0},
    {"Đăng ký kết hôn", "G09-HT01", "Hộ tịch", "Đăng ký kết hôn của", "Giấy chứng nhận kết hôn",
     "Tờ khai đăng ký kết hôn", "Giấy xác nhận tình trạng hôn nhân", 5, 0},
    {"Chứng thực bản sao từ bản chính giấy tờ, văn bản", "G03-CT", "Chứng thực",
     "Chứng thực 05 bản sao giấy tờ cho", "Bản sao có chứng thực",
     "Bản chính giấy tờ cần chứng thực", "Căn cước công dân", 1, 10000},
    {"Đăng ký thường trú", "G01-CT02", "Đăng ký, quản lý cư trú", "Đăng ký thường trú cho",
     "Thông báo kết quả đăng ký thường trú", "Tờ khai thay đổi thông tin cư trú",
     "Giấy tờ chứng minh chỗ ở hợp pháp", 7, 20000},
    {"Cấp giấy xác nhận tình trạng hôn nhân", "G09-HT01", "Hộ tịch",
     "Xác nhận tình trạng hôn nhân cho", "Giấy xác nhận tình trạng hôn nhân",
     "Tờ khai cấp giấy xác nhận tình trạng hôn nhân", "Căn cước công dân", 3, 0},
    {"Đăng ký khai tử", "G09-HT01", "Hộ tịch", "Đăng ký khai tử cho người thân của",
     "Trích lục khai tử", "Giấy báo tử", "Tờ khai đăng ký khai tử", 1, 0},
    {"Xác nhận hộ gia đình làm nông nghiệp có mức sống trung bình", "G10-LĐ", "Lao động",
     "Xác nhận hộ gia đình làm nông nghiệp cho", "Giấy xác nhận", "Đơn đề nghị xác nhận",
     "Sổ hộ khẩu", 5, 0},
    {"Cấp giấy phép xây dựng nhà ở riêng lẻ", "G13-XD", "Xây dựng",
     "Cấp giấy phép xây dựng nhà ở riêng lẻ cho", "Giấy phép xây dựng",
     "Đơn đề nghị cấp giấy phép xây dựng", "Bản vẽ thiết kế xây dựng", 15, 75000},
    {"Trợ cấp xã hội hằng tháng đối với người cao tuổi", "G10-BTXH", "Bảo trợ xã hội",
     "Đề nghị trợ cấp xã hội hằng tháng cho", "Quyết định trợ cấp xã hội",
     "Tờ khai đề nghị trợ cấp", "Căn cước công dân", 15, 0},
    {"Đăng ký hộ kinh doanh", "G05-DK", "Thành lập và hoạt động của hộ kinh doanh",
     "Đăng ký thành lập hộ kinh doanh của", "Giấy chứng nhận đăng ký hộ kinh doanh",
     "Giấy đề nghị đăng ký hộ kinh doanh", "Căn cước công dân của chủ hộ", 3, 100000},
};

static const char *const officer_title[] = {
    "Công chức Tư pháp - Hộ tịch", "Công chức Một cửa",          "Chủ tịch UBND",
    "Phó Chủ tịch UBND",           "Công chức Văn hóa - Xã hội", "Công chức Địa chính"};
static const char *const desk[] = {"Bộ phận Tiếp nhận và Trả kết quả", "Bộ phận Một cửa"};
static const char *const office[] = {"Tư pháp - Hộ tịch", "Văn phòng - Thống kê",
                                     "Địa chính - Xây dựng", "Lãnh đạo UBND"};

/* The lives a dossier can have (weights in percent). */
struct life {
    unsigned weight;
    unsigned len;
    int status[MAX_PATH];
    bool online;
};
static const struct life lives[] = {
    {35, 4, {2, 4, 9, 10}, false},       /* at the desk, decided, handed over */
    {25, 5, {1, 2, 4, 9, 10}, true},     /* online, then received */
    {12, 6, {2, 4, 5, 4, 9, 10}, false}, /* a supplement round */
    {8, 6, {2, 4, 6, 4, 9, 10}, false},  /* fees or taxes requested */
    {8, 2, {1, 3}, true},                /* online, not accepted */
    {6, 3, {2, 4, 7}, false},            /* withdrawn by the applicant */
    {6, 3, {2, 4, 8}, false},            /* processing stopped */
};

static const struct life *life_of(const lt_dgen *g, uint64_t i)
{
    rng r = rng_for(g, i, 1);
    unsigned x = pick(&r, 100), acc = 0;
    for (size_t k = 0; k < sizeof(lives) / sizeof(lives[0]); k++) {
        acc += lives[k].weight;
        if (x < acc)
            return &lives[k];
    }
    return &lives[0];
}

/* ---- dates: minutes since 2016-01-01 00:00 local time ---------------------- */

/* Days since 1970-01-01 → civil date (H. Hinnant's algorithm). */
static void civil(int64_t z, int *y, unsigned *m, unsigned *d)
{
    z += 719468;
    int64_t era = (z >= 0 ? z : z - 146096) / 146097;
    unsigned doe = (unsigned)(z - era * 146097);
    unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    int64_t yy = (int64_t)yoe + era * 400;
    unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    unsigned mp = (5 * doy + 2) / 153;
    *d = doy - (153 * mp + 2) / 5 + 1;
    *m = mp < 10 ? mp + 3 : mp - 9;
    *y = (int)(yy + (*m <= 2));
}

#define EPOCH_2016 16801 /* days from 1970-01-01 to 2016-01-01 */

static void two(char *p, unsigned v)
{
    p[0] = (char)('0' + v / 10 % 10);
    p[1] = (char)('0' + v % 10);
}

/* yyyyMMddHHmmss of minute t (seconds from the dossier's own rng). */
static void fmt_time(int64_t t, unsigned sec, char out[15])
{
    int y;
    unsigned m, d;
    civil(EPOCH_2016 + t / 1440, &y, &m, &d);
    two(out, (unsigned)y / 100 % 100);
    two(out + 2, (unsigned)y % 100);
    two(out + 4, m);
    two(out + 6, d);
    two(out + 8, (unsigned)(t % 1440) / 60);
    two(out + 10, (unsigned)(t % 60));
    two(out + 12, sec % 60);
    out[14] = '\0';
}

/* The code's day and number for dossier i. */
static void code_parts(const lt_dgen *g, uint64_t i, uint64_t *ret_day, uint64_t *ret_num)
{
    uint64_t space = (uint64_t)N_DAYS * CODES_PER_DAY;
    uint64_t l = (g->run_id % (space / CODES_PER_RUN) * CODES_PER_RUN + i) % space;
    *ret_day = l / CODES_PER_DAY;
    *ret_num = l % CODES_PER_DAY;
}

/* ---- the generator --------------------------------------------------------- */

/* JSON string contents for a caller's code: quotes, backslashes and control
 * characters escaped. NULL when out of memory. */
static char *escape(const char *s)
{
    size_t n = strlen(s);
    char *out = malloc(n * 6 + 1), *p = out;
    if (!out)
        return NULL;
    for (const unsigned char *c = (const unsigned char *)s; *c; c++) {
        if (*c == '"' || *c == '\\') {
            *p++ = '\\';
            *p++ = (char)*c;
        } else if (*c < 0x20) {
            snprintf(p, 7, "\\u%04x", *c);
            p += 6;
        } else {
            *p++ = (char)*c;
        }
    }
    *p = '\0';
    return out;
}

lt_dgen *lt_dgen_new(uint64_t seed, uint64_t run_id, const char *agency,
                     const char *const *procedures, size_t n_procedures)
{
    if (!agency || !*agency || !procedures || n_procedures == 0)
        return NULL;
    lt_dgen *g = calloc(1, sizeof(*g));
    if (!g)
        return NULL;
    g->seed = seed;
    g->run_id = run_id;
    g->agency = escape(agency);
    g->procedures = calloc(n_procedures, sizeof(char *));
    if (!g->agency || !g->procedures)
        goto fail;
    g->n_procedures = n_procedures;
    for (size_t k = 0; k < n_procedures; k++) {
        g->procedures[k] = escape(procedures[k]);
        if (!g->procedures[k])
            goto fail;
    }
    return g;
fail:
    lt_dgen_destroy(&g);
    return NULL;
}

void lt_dgen_destroy(lt_dgen **self_p)
{
    if (!self_p || !*self_p)
        return;
    lt_dgen *g = *self_p;
    for (size_t k = 0; g->procedures && k < g->n_procedures; k++)
        free(g->procedures[k]);
    free(g->procedures);
    free(g->agency);
    free(g);
    *self_p = NULL;
}

unsigned lt_dgen_first_step(const lt_dgen *self, uint64_t i)
{
    const struct life *l = life_of(self, i);
    rng r = rng_for(self, i, 2);
    /* Three wards in ten join mid-way: their first push carries history. */
    return l->len > 2 && pick(&r, 10) < 3 ? 1 : 0;
}

unsigned lt_dgen_last_step(const lt_dgen *self, uint64_t i)
{
    return life_of(self, i)->len - 1;
}

int lt_dgen_status(const lt_dgen *self, uint64_t i, unsigned step)
{
    const struct life *l = life_of(self, i);
    return l->status[step < l->len ? step : l->len - 1];
}

int lt_dgen_code(const lt_dgen *self, uint64_t i, char *buf, size_t size)
{
    uint64_t day, num;
    code_parts(self, i, &day, &num);
    int y;
    unsigned m, d;
    civil(EPOCH_2016 + (int64_t)day, &y, &m, &d);
    int n = snprintf(buf, size, "%s-%02u%02u%02u-%07u", self->agency, (unsigned)y % 100, m % 100,
                     d % 100, (unsigned)num);
    return n < 0 || (size_t)n >= size ? -1 : 0;
}

/* A person: name, its ASCII form for the e-mail, CCCD number. */
struct person {
    char name[96];
    char mail[96];
    char cccd[16];
    char phone[16];
    bool female;
};

/* dst = a + " " + b + " " + c, cut to size. */
static void join3(char *dst, size_t size, const char *a, const char *b, const char *c)
{
    size_t la = strlen(a), lb = strlen(b), lc = strlen(c);
    if (la + lb + lc + 3 > size) {
        dst[0] = '\0';
        return;
    }
    memcpy(dst, a, la);
    dst[la] = ' ';
    memcpy(dst + la + 1, b, lb);
    dst[la + 1 + lb] = ' ';
    memcpy(dst + la + 2 + lb, c, lc + 1);
}

/* A person; contact details and papers only when full (the applicant; the
 * officers need only a name). */
static void make_person(rng *r, struct person *p, bool full)
{
    unsigned f = pick(r, 16), gv = pick(r, 16);
    p->female = pick(r, 2) == 1;
    const char *mid = p->female ? PICK(r, middle_f) : PICK(r, middle_m);
    const char *given = p->female ? given_f[gv] : given_m[gv];
    const char *given_ascii = p->female ? given_f_ascii[gv] : given_m_ascii[gv];
    join3(p->name, sizeof(p->name), family[f], mid, given);
    if (!full)
        return;
    unsigned born = 1950 + pick(r, 56);
    snprintf(p->mail, sizeof(p->mail), "%s.%s%02u@%s", given_ascii, family_ascii[f], born % 100,
             PICK(r, mail_domain));
    /* Gender and century digit: 0/1 born in the 1900s, 2/3 in the 2000s. */
    unsigned gc = (born >= 2000 ? 2 : 0) + (p->female ? 1 : 0);
    snprintf(p->cccd, sizeof(p->cccd), "%s%u%02u%06u", PICK(r, cccd_province), gc, born % 100,
             (unsigned)(next(r) % 1000000));
    snprintf(p->phone, sizeof(p->phone), "%s%07u", PICK(r, phone_prefix),
             (unsigned)(next(r) % 10000000));
}

#define ADD(...)                                                                                   \
    do {                                                                                           \
        if (fast_add(out, __VA_ARGS__) < 0)                                                        \
            return -1;                                                                             \
    } while (0)

static const char *what_was_done(int status, bool online)
{
    switch (status) {
    case 1:
        return online ? "Nộp trực tuyến" : "Đăng ký hồ sơ";
    case 2:
        return "Tiếp nhận hồ sơ";
    case 3:
        return "Từ chối tiếp nhận: không thuộc thẩm quyền";
    case 4:
        return "Chuyển chuyên môn thẩm định";
    case 5:
        return "Yêu cầu bổ sung giấy tờ";
    case 6:
        return "Thông báo nghĩa vụ tài chính";
    case 7:
        return "Công dân có đơn xin rút hồ sơ";
    case 8:
        return "Dừng xử lý";
    case 9:
        return "Lãnh đạo ký duyệt kết quả";
    default:
        return "Trả kết quả";
    }
}

int lt_dgen_record(const lt_dgen *self, uint64_t i, unsigned step, lt_dgen_buf *out)
{
    const struct life *l = life_of(self, i);
    if (step >= l->len)
        return -1;
    char code[128];
    if (lt_dgen_code(self, i, code, sizeof(code)) < 0)
        return -1;
    uint64_t day, num;
    code_parts(self, i, &day, &num);

    rng r = rng_for(self, i, 3);
    size_t proc = pick(&r, (unsigned)self->n_procedures);
    const struct topic *tp = &topics[proc % (sizeof(topics) / sizeof(topics[0]))];
    struct person who, officer, boss;
    make_person(&r, &who, true);
    make_person(&r, &officer, false);
    make_person(&r, &boss, false);
    /* Businesses register household businesses and build houses. */
    bool business = (proc % 10 == 9 || proc % 10 == 7) && pick(&r, 2) == 0;
    unsigned house = 1 + pick(&r, 300), lane = 1 + pick(&r, 120);
    const char *road = PICK(&r, street), *wd = PICK(&r, ward), *ct = PICK(&r, city);
    unsigned n_docs = 1 + (pick(&r, 4) == 0);
    bool digitized = pick(&r, 4) != 0;
    bool old_id = pick(&r, 5) == 0;
    unsigned old_id_num = (unsigned)(next(&r) % 1000000000);
    unsigned mst = (unsigned)(next(&r) % 100000000);

    /* The time of each step: t[0] on the code's day; each later step from
     * 20 minutes to 2 days after the one before. Seconds vary too. */
    int64_t t[MAX_PATH];
    unsigned sec[MAX_PATH];
    rng rt = rng_for(self, i, 4);
    t[0] =
        (int64_t)day * 1440 + (l->online ? 19 * 60 + pick(&rt, 180) : 7 * 60 + 30 + pick(&rt, 540));
    sec[0] = pick(&rt, 60);
    for (unsigned s = 1; s < l->len; s++) {
        t[s] = t[s - 1] + 20 + pick(&rt, 2 * 1440);
        sec[s] = pick(&rt, 60);
    }
    /* Dates of this step's record: received (first 2), decided (first 9),
     * handed over (10), refused (3); the due date from the receipt. */
    char d_sub[15], d_rec[15] = "", d_due[15] = "", d_end[15] = "", d_ret[15] = "", d_ref[15] = "",
                    d_sup[15] = "";
    fmt_time(l->online ? t[0] : t[0] - 5, sec[0], d_sub);
    bool supplement = false;
    for (unsigned s = 0; s <= step; s++) {
        int st = l->status[s];
        if (st == 2 && !d_rec[0]) {
            fmt_time(t[s], sec[s], d_rec);
            int64_t due = (t[s] / 1440 + tp->days) * 1440 + 17 * 60;
            fmt_time(due, 0, d_due);
        }
        if (st == 9 && !d_end[0])
            fmt_time(t[s], sec[s], d_end);
        if (st == 10)
            fmt_time(t[s], sec[s], d_ret);
        if (st == 3)
            fmt_time(t[s], sec[s], d_ref);
        if (st == 5 && !supplement) {
            fmt_time(t[s], sec[s], d_sup);
            supplement = true;
        }
    }
    int status = l->status[step];
    bool fee = tp->fee > 0;

    ADD("{\"MaHoSo\":\"%s\",\"MaTTHC\":\"%s\",\"TenTTHC\":\"%s\",\"MaLinhVuc\":\"%s\","
        "\"TenLinhVuc\":\"%s\",\"SoBienNhan\":\"BN%02u-%07u\",",
        code, self->procedures[proc], tp->name, tp->field_code, tp->field_name,
        (unsigned)((2016 + day / 365) % 100), (unsigned)num);
    if (business)
        ADD("\"ChuHoSo\":\"Hộ kinh doanh %s\",\"LoaiDoiTuong\":\"2\",\"MaDoiTuong\":\"dn-%08u\","
            "\"SoGiayToChuHoSo\":\"26%08u\",\"DinhDanhCHS\":[\"26%08u\"],",
            who.name, mst, mst, mst);
    else if (old_id)
        ADD("\"ChuHoSo\":\"%s\",\"LoaiDoiTuong\":\"1\",\"MaDoiTuong\":\"vneid-%s\","
            "\"SoGiayToChuHoSo\":\"%s\",\"DinhDanhCHS\":[\"%s\",\"%09u\"],",
            who.name, who.cccd, who.cccd, who.cccd, old_id_num);
    else
        ADD("\"ChuHoSo\":\"%s\",\"LoaiDoiTuong\":\"1\",\"MaDoiTuong\":\"vneid-%s\","
            "\"SoGiayToChuHoSo\":\"%s\",\"DinhDanhCHS\":[\"%s\"],",
            who.name, who.cccd, who.cccd, who.cccd);
    ADD("\"Email\":\"%s\",\"SoDienThoai\":\"%s\","
        "\"ThongTinKhac\":\"Địa chỉ: số %u, ngõ %u, đường %s, %s, %s\","
        "\"TrichYeuHoSo\":\"%s %s\",",
        who.mail, who.phone, house, lane, road, wd, ct, tp->summary, who.name);
    ADD("\"NgayNopHoSo\":\"%s\",\"NgayTiepNhan\":\"%s\",\"NgayHenTra\":\"%s\","
        "\"TrangThaiHoSo\":\"%d\",\"NgayKetThucXuLy\":\"%s\",\"NgayTra\":\"%s\","
        "\"ThongTinTra\":\"%s\",%s\"NgayTuChoi\":\"%s\",",
        d_sub, d_rec, d_due, status, d_end, d_ret,
        status == 10 ? "Trả kết quả tại Bộ phận Một cửa" : "",
        status == 10 ? "\"HinhThuc\":\"0\"," : "", d_ref);
    ADD("\"DonViXuLy\":\"UBND cấp xã (%s)\",\"KenhThucHien\":\"%s\",\"NoiNopHoSo\":\"%s\","
        "\"HoSoCoThanhPhanSoHoa\":\"%s\",\"TaiKhoanDuocXacThucVoiVNeID\":\"%s\","
        "\"DuocThanhToanTrucTuyen\":\"%s\",",
        self->agency, l->online ? "2" : "1", l->online ? "1" : "0", digitized ? "1" : "0",
        l->online ? "1" : "0", l->online && fee ? "1" : "0");
    ADD("\"TaiLieuNop\":[");
    for (unsigned k = 0; k < n_docs; k++)
        ADD("%s{\"TepDinhKemId\":\"f%07u-%u\",\"TenTepDinhKem\":\"%s.pdf\","
            "\"MaThanhPhanHoSo\":\"TP%02u\",\"DuongDanTaiTepTin\":\"/f/%.6s/%07u-%u.pdf\","
            "\"DuocSoHoa\":\"%s\"}",
            k ? "," : "", (unsigned)num, k + 1, k ? tp->doc2 : tp->doc1, k + 1, d_sub,
            (unsigned)num, k + 1, digitized ? "1" : "0");
    /* Empty lists are left out, as most ward systems do. */
    ADD("]");
    if (fee)
        ADD(",\"DanhSachLePhi\":[{\"TenPhiLePhi\":\"Lệ phí "
            "%s\",\"MaPhiLePhi\":\"LP-%s\",\"HinhThucThu\":\"%s\","
            "\"Gia\":\"%u\",\"LoaiPhiLePhi\":\"1\"}]",
            tp->name, tp->field_code, l->online ? "Trực tuyến" : "Tiền mặt", tp->fee);
    if (supplement)
        ADD(",\"DanhSachHoSoBoSung\":[{\"NgayYeuCauBoSung\":\"%s\",\"NoiDungBoSung\":\"Bổ sung "
            "%s\","
            "\"NgayHenTraTruoc\":\"%s\",\"NgayHenTraMoi\":\"\"}]",
            d_sup, tp->doc2, d_due);
    if (status == 9 || status == 10)
        ADD(",\"DanhSachGiayToKetQua\":[{\"TenGiayTo\":\"%s\",\"MaGiayToKetQua\":\"KQ-%07u\","
            "\"DuongDanTepTinKetQua\":\"\"}]",
            tp->result, (unsigned)num);
    ADD(",\"QuaTrinhXuLy\":[");
    for (unsigned s = 0; s <= step; s++) {
        char when[15];
        fmt_time(t[s], sec[s], when);
        int st = l->status[s];
        bool leader = st == 9 || st == 3;
        ADD("%s{\"MaHoSo\":\"%s\",\"NguoiXuLy\":\"%s\",\"ChucDanh\":\"%s\","
            "\"ThoiDiemXuLy\":\"%s\",\"PhongBanXuLy\":\"%s\",\"NoiDungXuLy\":\"%s\","
            "\"TrangThai\":\"%d\",\"NgayBatDau\":\"%s\",\"NgayKetThucTheoQuyDinh\":\"%s\"}",
            s ? "," : "", code, leader ? boss.name : officer.name,
            leader ? officer_title[2 + (num % 2)] : officer_title[num % 2 ? 0 : 1], when,
            st <= 2 ? desk[num % 2] : office[leader ? 3 : num % 3], what_was_done(st, l->online),
            st, when, d_due);
    }
    ADD("]}");
    return 0;
}
