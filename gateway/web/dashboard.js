// The operators' dashboard (GET /): reads GET /v1/status every few seconds
// and, with an operator token the operator types in (kept in this tab's
// sessionStorage only, never in a cookie or localStorage), the dead letters
// (GET /v1/deadletters) with a button to send each again
// (POST /v1/deadletters/replay). No framework and nothing from elsewhere:
// the page's Content-Security-Policy allows this origin only, and every
// value from the server is set as text, never as HTML.
'use strict';

(function () {
  const REFRESH_MS = 3000;
  const TOKEN_KEY = 'lienthong.operatorToken';
  const LANG_KEY = 'lienthong.lang';
  const DEAD_LIMIT = 200; // one page; the command line lists the rest

  const TEXT = {
    vi: {
      title: 'Bảng điều khiển vận hành',
      updated: 'Cập nhật lúc',
      links: 'Liên kết',
      wards: 'Hệ thống cấp xã',
      gateway: 'Cổng liên thông',
      destinations: 'Nơi nhận',
      destTable: 'Tình trạng từng nơi nhận',
      colDestination: 'Nơi nhận',
      colState: 'Trạng thái',
      colBacklog: 'Tồn đọng',
      colRetrying: 'Đang thử lại',
      colOldest: 'Chờ lâu nhất',
      colLastSuccess: 'Gửi thành công gần nhất',
      colLastError: 'Lỗi gần nhất',
      colDead: 'Thư chết',
      colRate: 'Đã gửi/phút',
      problems: 'Cảnh báo',
      noProblems: 'Không có cảnh báo.',
      catalog: 'Danh mục thủ tục',
      catVersion: 'Phiên bản',
      catProcedures: 'Thủ tục đang công bố / tổng',
      catLastSync: 'Lần đồng bộ gần nhất',
      catOutcome: 'Kết quả',
      ingress: 'Tiếp nhận',
      inRate: 'Hồ sơ/giây (1 phút)',
      inTotal: 'Hồ sơ đã trả lời',
      inRejected: 'Bị từ chối',
      inLatency: 'Độ trễ p50 / p90 / p99',
      dbState: 'Cơ sở dữ liệu',
      senders: 'Đơn vị gửi hôm nay',
      colUnit: 'Đơn vị',
      colLastRecord: 'Hồ sơ gần nhất',
      colRecordsToday: 'Hồ sơ hôm nay',
      colRejectsToday: 'Từ chối hôm nay',
      noSenders: 'Hôm nay chưa đơn vị nào gửi hồ sơ.',
      dead: 'Thư chết (không gửi được)',
      tokenLabel: 'Mã truy cập vận hành (operator)',
      tokenSave: 'Dùng mã này',
      tokenForget: 'Quên mã',
      tokenHint: 'Mã chỉ được giữ trong phiên của thẻ này (sessionStorage).',
      colId: 'Mã',
      colDossier: 'Mã hồ sơ',
      colAttempts: 'Số lần gửi',
      colReason: 'Lý do',
      colCreated: 'Tạo lúc',
      colAction: 'Thao tác',
      replay: 'Gửi lại',
      replayOf: 'Gửi lại thư chết số',
      replaying: 'Đang gửi lại…',
      replayed: (r, s) => `Đã xếp gửi lại ${r}; ${s} đã có bản mới hơn thay thế.`,
      replayFailed: 'Không gửi lại được',
      noDead: 'Không có thư chết.',
      deadMore: (n) => `Đang hiện ${n} thư chết cũ nhất; còn nữa (lienthong deadletters list).`,
      needToken: 'Nhập mã truy cập vận hành để xem và gửi lại thư chết.',
      tokenRefused: 'Mã truy cập bị từ chối (sai hoặc đã thu hồi).',
      tokenForbidden: 'Mã này không có quyền vận hành (operator).',
      footer: 'Trang tự làm mới vài giây một lần từ /v1/status. Giờ hiển thị theo giờ Việt Nam (UTC+7).',
      healthy: 'Mọi liên kết hoạt động bình thường',
      unhealthy: (n) => `${n} cảnh báo cần xử lý`,
      loadError: 'Không đọc được /v1/status',
      senderCount: (n, r, j) => `${n} đơn vị gửi hôm nay; ${r} hồ sơ, ${j} bị từ chối`,
      gatewayText: (live, rate) => `${live} tiến trình; ${rate} hồ sơ/giây`,
      reachable: 'kết nối được',
      unreachable: 'không kết nối được',
      lastSeq: 'sự kiện cuối',
      writerLag: 'độ trễ ghi',
      none: 'không có',
      never: 'chưa từng',
      ago: (t) => `${t} trước`,
      running: 'đang chạy',
      ok: 'thành công',
      failed: 'thất bại',
      partial: 'một phần',
      states: {
        up: 'Hoạt động',
        degraded: 'Suy giảm',
        down: 'Mất kết nối',
        circuit_open: 'Tạm ngắt',
        unconfigured: 'Chưa cấu hình',
        unknown: 'Chưa rõ',
      },
      units: { d: 'ngày', h: 'giờ', m: 'phút', s: 'giây' },
      backlogShort: 'tồn',
      langButton: 'English',
    },
    en: {
      title: 'Operations dashboard',
      updated: 'Updated at',
      links: 'Links',
      wards: 'Ward systems',
      gateway: 'Gateway',
      destinations: 'Destinations',
      destTable: 'Each destination',
      colDestination: 'Destination',
      colState: 'State',
      colBacklog: 'Backlog',
      colRetrying: 'Retrying',
      colOldest: 'Oldest pending',
      colLastSuccess: 'Last success',
      colLastError: 'Last error',
      colDead: 'Dead letters',
      colRate: 'Delivered/min',
      problems: 'Problems',
      noProblems: 'No problems.',
      catalog: 'Procedure catalog',
      catVersion: 'Version',
      catProcedures: 'Published / all procedures',
      catLastSync: 'Last sync',
      catOutcome: 'Outcome',
      ingress: 'Ingress',
      inRate: 'Records/s (1 min)',
      inTotal: 'Records answered',
      inRejected: 'Rejected',
      inLatency: 'Latency p50 / p90 / p99',
      dbState: 'Database',
      senders: 'Senders today',
      colUnit: 'Unit',
      colLastRecord: 'Last record',
      colRecordsToday: 'Records today',
      colRejectsToday: 'Rejects today',
      noSenders: 'No unit has sent records today.',
      dead: 'Dead letters (could not be delivered)',
      tokenLabel: 'Operator token',
      tokenSave: 'Use this token',
      tokenForget: 'Forget token',
      tokenHint: 'The token is kept in this tab\u2019s session only (sessionStorage).',
      colId: 'Id',
      colDossier: 'Dossier code',
      colAttempts: 'Attempts',
      colReason: 'Reason',
      colCreated: 'Created',
      colAction: 'Action',
      replay: 'Replay',
      replayOf: 'Replay dead letter',
      replaying: 'Replaying…',
      replayed: (r, s) => `Queued again: ${r}; already carried by a newer delivery: ${s}.`,
      replayFailed: 'Replay failed',
      noDead: 'No dead letters.',
      deadMore: (n) => `Showing the ${n} oldest dead letters; there are more (lienthong deadletters list).`,
      needToken: 'Enter an operator token to see and replay dead letters.',
      tokenRefused: 'The token was refused (wrong or revoked).',
      tokenForbidden: 'This token does not have the operator role.',
      footer: 'The page refreshes itself every few seconds from /v1/status. Times are Vietnam time (UTC+7).',
      healthy: 'All links are working',
      unhealthy: (n) => `${n} problem${n === 1 ? '' : 's'} to look at`,
      loadError: 'Cannot read /v1/status',
      senderCount: (n, r, j) => `${n} unit${n === 1 ? '' : 's'} sent today; ${r} records, ${j} refused`,
      gatewayText: (live, rate) => `${live} process${live === 1 ? '' : 'es'}; ${rate} records/s`,
      reachable: 'reachable',
      unreachable: 'unreachable',
      lastSeq: 'last event',
      writerLag: 'writer lag',
      none: 'none',
      never: 'never',
      ago: (t) => `${t} ago`,
      running: 'running',
      ok: 'ok',
      failed: 'failed',
      partial: 'partial',
      states: {
        up: 'Up',
        degraded: 'Degraded',
        down: 'Down',
        circuit_open: 'Circuit open',
        unconfigured: 'Not configured',
        unknown: 'Unknown',
      },
      units: { d: 'd', h: 'h', m: 'min', s: 's' },
      backlogShort: 'backlog',
      langButton: 'Tiếng Việt',
    },
  };

  let lang = localStorage.getItem(LANG_KEY) === 'en' ? 'en' : 'vi';
  let lastStatus = null;
  let lastDead = null; // {list} or {error: key}
  let timer = 0;

  const $ = (id) => document.getElementById(id);
  const t = (key) => TEXT[lang][key];

  function el(tag, attrs, ...children) {
    const e = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) {
      if (v === null || v === undefined) continue;
      if (k === 'class') e.className = v;
      else if (k === 'text') e.textContent = v;
      else e.setAttribute(k, v);
    }
    for (const c of children) e.append(c);
    return e;
  }

  function number(n) {
    if (n === null || n === undefined) return '—';
    return new Intl.NumberFormat(lang === 'vi' ? 'vi-VN' : 'en-GB', { maximumFractionDigits: 2 }).format(n);
  }

  function duration(s) {
    if (s === null || s === undefined) return '—';
    const u = t('units');
    s = Math.max(0, Math.round(s));
    if (s < 60) return `${s} ${u.s}`;
    if (s < 3600) return `${Math.floor(s / 60)} ${u.m} ${s % 60} ${u.s}`;
    if (s < 86400) return `${Math.floor(s / 3600)} ${u.h} ${Math.floor((s % 3600) / 60)} ${u.m}`;
    return `${Math.floor(s / 86400)} ${u.d} ${Math.floor((s % 86400) / 3600)} ${u.h}`;
  }

  // A time in Vietnam's time zone (the gateway's working time, whatever the
  // browser's), with how long ago it was measured against the document's
  // own clock (generated_at), so a browser with a wrong clock still reads
  // right.
  function when(iso, now) {
    if (!iso) return t('never');
    const d = new Date(iso);
    const text = d.toLocaleString(lang === 'vi' ? 'vi-VN' : 'en-GB', { hour12: false, timeZone: 'Asia/Ho_Chi_Minh' });
    if (!now) return text;
    return `${text} (${t('ago')(duration((Date.parse(now) - d.getTime()) / 1000))})`;
  }

  function stateBadge(state) {
    const known = Object.prototype.hasOwnProperty.call(t('states'), state) ? state : 'unknown';
    return el('span', { class: `state state-${known}`, 'data-state': known, text: t('states')[known] });
  }

  function setText(id, text) {
    $(id).textContent = text;
  }

  function renderStatic() {
    document.documentElement.lang = lang;
    for (const e of document.querySelectorAll('[data-i18n]')) {
      const v = t(e.getAttribute('data-i18n'));
      if (typeof v === 'string') e.textContent = v;
    }
    const b = $('lang');
    b.textContent = t('langButton');
    b.setAttribute('lang', lang === 'vi' ? 'en' : 'vi');
    document.title = `lienthong — ${t('title')}`;
  }

  function renderDestinations(s) {
    const body = $('dest-body');
    const flow = $('flow-dests');
    const rows = [];
    const items = [];
    for (const d of s.destinations || []) {
      const err = d.last_error ? `${d.last_error} — ${when(d.last_error_at, s.generated_at)}` : t('none');
      rows.push(
        el(
          'tr',
          { 'data-destination': d.name, 'data-state': d.state },
          el('th', { scope: 'row' }, el('span', { class: 'code', text: d.name }), d.url ? el('br') : '', d.url ? el('span', { class: 'muted code', text: d.url }) : ''),
          el('td', {}, stateBadge(d.state)),
          el('td', { class: 'num', text: number(d.backlog) }),
          el('td', { class: 'num', text: number(d.retrying) }),
          el('td', { text: duration(d.oldest_pending_age_s) }),
          el('td', { text: when(d.last_success_at, s.generated_at) }),
          el('td', { text: err }),
          el('td', { class: 'num', text: number(d.dead_letters) }),
          el('td', { class: 'num', text: number(d.delivered_per_min) })
        )
      );
      items.push(
        el('li', { 'data-destination': d.name }, el('span', { class: 'code', text: d.name }), stateBadge(d.state),
          el('span', { class: 'muted', text: `${t('backlogShort')} ${number(d.backlog)}` }))
      );
    }
    if (!rows.length) rows.push(el('tr', {}, el('td', { class: 'empty', colspan: '9', text: t('none') })));
    body.replaceChildren(...rows);
    flow.replaceChildren(...items);
  }

  function renderStatus(s) {
    const overall = $('overall');
    const problems = s.problems || [];
    overall.setAttribute('data-health', s.healthy ? 'good' : 'bad');
    overall.textContent = s.healthy ? t('healthy') : t('unhealthy')(problems.length);
    $('updated').textContent = when(s.generated_at);
    $('updated').setAttribute('datetime', s.generated_at || '');

    renderDestinations(s);
    $('problems').replaceChildren(
      ...(problems.length ? problems.map((p) => el('li', { 'data-what': p.what }, el('span', { class: 'code', text: p.what }), ` — ${p.detail}`)) : [el('li', { class: 'muted', text: t('noProblems') })])
    );

    const senders = s.senders || [];
    const records = senders.reduce((a, x) => a + (x.records_today || 0), 0);
    const rejects = senders.reduce((a, x) => a + (x.rejects_today || 0), 0);
    setText('flow-wards-text', t('senderCount')(senders.length, number(records), number(rejects)));
    const ing = s.ingress || {};
    const live = s.gateways && typeof s.gateways.live === 'number' ? s.gateways.live : s.instance ? 1 : 0;
    setText('flow-gateway-text', t('gatewayText')(live, number(ing.records_per_s_1m)));
    $('senders-body').replaceChildren(
      ...(senders.length
        ? senders.map((x) => el('tr', {}, el('td', { class: 'code', text: x.unit || '—' }), el('td', { text: when(x.last_record_at, s.generated_at) }), el('td', { class: 'num', text: number(x.records_today) }), el('td', { class: 'num', text: number(x.rejects_today) })))
        : [el('tr', {}, el('td', { class: 'empty', colspan: '4', text: t('noSenders') }))])
    );

    const c = s.catalog || {};
    setText('cat-version', c.version === null || c.version === undefined ? t('none') : String(c.version));
    const p = c.procedures || {};
    setText('cat-procedures', `${number(p.published)} / ${number(p.total)}`);
    const run = c.last_run;
    setText('cat-last', run ? `${when(run.finished_at || run.started_at, s.generated_at)} — ${run.source}` : t('never'));
    setText('cat-outcome', run ? (t(run.outcome) || run.outcome) + (run.error ? ` — ${run.error}` : '') : '—');

    setText('in-rate', number(ing.records_per_s_1m));
    setText('in-total', number(ing.records_total));
    setText('in-rejected', number(ing.rejected_total));
    const l = ing.latency_ms || {};
    setText('in-latency', `${number(l.p50)} / ${number(l.p90)} / ${number(l.p99)} ms`);
    const db = s.database || {};
    let dbText = db.reachable ? t('reachable') : `${t('unreachable')}${db.error ? ` — ${db.error}` : ''}`;
    if (db.last_sequence !== null && db.last_sequence !== undefined) dbText += `; ${t('lastSeq')} ${db.last_sequence}`;
    if (db.writer_lag_s !== null && db.writer_lag_s !== undefined) dbText += `; ${t('writerLag')} ${duration(db.writer_lag_s)}`;
    setText('db-state', dbText);
  }

  function renderDead() {
    const msg = $('dead-msg');
    const body = $('dead-body');
    if (!sessionStorage.getItem(TOKEN_KEY)) {
      msg.textContent = t('needToken');
      body.replaceChildren();
      return;
    }
    if (!lastDead) return;
    if (lastDead.error) {
      msg.textContent = typeof t(lastDead.error) === 'string' ? t(lastDead.error) : lastDead.error;
      body.replaceChildren();
      return;
    }
    msg.textContent = [lastDead.note, lastDead.more ? t('deadMore')(lastDead.list.length) : '']
      .filter(Boolean)
      .join(' ');
    const list = lastDead.list;
    if (!list.length) {
      body.replaceChildren(el('tr', {}, el('td', { class: 'empty', colspan: '7', text: t('noDead') })));
      return;
    }
    body.replaceChildren(
      ...list.map((d) => {
        const parts = [d.last_status ? `HTTP ${d.last_status}` : '', d.last_error || '', d.answer || ''];
        const reason = parts.filter((x, i) => x && parts.indexOf(x) === i).join(' — ');
        const button = el('button', { type: 'button', class: 'replay', 'data-id': String(d.id), 'aria-label': `${t('replayOf')} ${d.id}`, text: t('replay') });
        button.addEventListener('click', () => replay(d, button));
        return el(
          'tr',
          { 'data-deadletter': String(d.id), 'data-destination': d.destination },
          el('td', { class: 'num', text: String(d.id) }),
          el('td', { class: 'code', text: d.destination }),
          el('td', { class: 'code', text: d.MaHoSo || '—' }),
          el('td', { class: 'num', text: number(d.attempts) }),
          el('td', { text: reason || '—' }),
          el('td', { text: when(d.created_at) }),
          el('td', {}, button)
        );
      })
    );
  }

  async function replay(d, button) {
    const token = sessionStorage.getItem(TOKEN_KEY);
    if (!token) return;
    button.disabled = true;
    button.textContent = t('replaying');
    let note;
    try {
      const r = await fetch('/v1/deadletters/replay', {
        method: 'POST',
        cache: 'no-store',
        headers: { 'Content-Type': 'application/json', Authorization: `Bearer ${token}` },
        body: JSON.stringify({ destination: d.destination, id: d.id }),
      });
      const j = await r.json().catch(() => ({}));
      if (r.ok) note = t('replayed')(j.replayed, j.superseded);
      else note = `${t('replayFailed')}: ${r.status} ${(j.error && j.error.message) || ''}`;
    } catch (e) {
      note = `${t('replayFailed')}: ${e.message}`;
    }
    await refresh();
    $('dead-msg').textContent = note;
    if (lastDead) lastDead.note = note;
  }

  async function loadDead() {
    const token = sessionStorage.getItem(TOKEN_KEY);
    if (!token) {
      lastDead = null;
      return;
    }
    const note = lastDead && lastDead.note;
    try {
      const r = await fetch(`/v1/deadletters?limit=${DEAD_LIMIT}`, { cache: 'no-store', headers: { Authorization: `Bearer ${token}` } });
      if (r.status === 401) lastDead = { error: 'tokenRefused' };
      else if (r.status === 403) lastDead = { error: 'tokenForbidden' };
      else if (!r.ok) lastDead = { error: `GET /v1/deadletters: ${r.status}` };
      else {
        const j = await r.json();
        lastDead = { list: j.deadletters || [], more: j.next !== null && j.next !== undefined, note };
      }
    } catch (e) {
      lastDead = { error: `GET /v1/deadletters: ${e.message}` };
    }
  }

  async function loadStatus() {
    const shown = $('load-error');
    try {
      const r = await fetch('/v1/status', { cache: 'no-store' });
      const j = await r.json().catch(() => null);
      if (!r.ok || !j || !Array.isArray(j.destinations)) {
        const why = (j && j.error && j.error.message) || `HTTP ${r.status}`;
        throw new Error(why);
      }
      lastStatus = j;
      shown.hidden = true;
    } catch (e) {
      shown.textContent = `${t('loadError')}: ${e.message}`;
      shown.hidden = false;
      $('overall').setAttribute('data-health', 'bad');
      $('overall').textContent = t('loadError');
    }
  }

  async function refresh() {
    clearTimeout(timer);
    await Promise.all([loadStatus(), loadDead()]);
    if (lastStatus) renderStatus(lastStatus);
    renderDead();
    document.body.setAttribute('data-refreshed', String(Date.now()));
    timer = setTimeout(refresh, REFRESH_MS);
  }

  function init() {
    renderStatic();
    $('lang').addEventListener('click', () => {
      lang = lang === 'vi' ? 'en' : 'vi';
      localStorage.setItem(LANG_KEY, lang);
      renderStatic();
      if (lastStatus) renderStatus(lastStatus);
      renderDead();
    });
    $('token-form').addEventListener('submit', (ev) => {
      ev.preventDefault();
      const v = $('token').value.trim();
      $('token').value = '';
      if (v) sessionStorage.setItem(TOKEN_KEY, v);
      lastDead = null;
      refresh();
    });
    $('token-forget').addEventListener('click', () => {
      sessionStorage.removeItem(TOKEN_KEY);
      lastDead = null;
      renderDead();
    });
    refresh();
  }

  document.addEventListener('DOMContentLoaded', init);
})();
