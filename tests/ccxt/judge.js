// A real client as judge: ccxt (npm) pointed at venue-sim for both protocols. Every check compares
// what ccxt parsed with an independent source: the recorded CSV rows, the catalog's tick/lot, or
// the order we just sent. Exit 0 when all pass; 1 with the failures listed.
//   node judge.js <poloniex-port> <binance-port> <key> <secret> <data-dir>
'use strict';
const ccxt = require('ccxt');
const fs = require('fs');
const path = require('path');

const [polPort, bnPort, key, secret, dataDir] = process.argv.slice(2);
const failures = [];
let checks = 0;
function check(cond, what) {
  checks += 1;
  if (!cond) failures.push(what);
  console.log(`${cond ? 'ok  ' : 'FAIL'} ${what}`);
}
function retarget(ex, base) {
  for (const k of Object.keys(ex.urls.api)) {
    if (typeof ex.urls.api[k] === 'string') ex.urls.api[k] = ex.urls.api[k].replace(/^https:\/\/[^/]+/, base);
  }
  return ex;
}
function csvRows(file) {
  const [head, ...lines] = fs.readFileSync(file, 'utf8').trim().split('\n');
  const cols = head.split(',');
  return lines.map((l) => Object.fromEntries(l.split(',').map((v, i) => [cols[i], v])));
}
const near = (a, b) => Math.abs(a - b) <= 1e-9 * Math.max(1, Math.abs(b));

async function judge(name, ex, sym, venueSym, opts) {
  console.log(`--- ${name}`);
  const markets = await ex.loadMarkets();
  const m = markets[sym];
  check(m !== undefined && m.id === venueSym, `${name}: loadMarkets has ${sym} as ${venueSym}`);
  check(m && m.contract && m.linear, `${name}: ${sym} is a linear contract`);

  // OHLCV equals the recorded rows (volume: contracts x contract size = base volume).
  const rows = csvRows(path.join(dataDir, 'freqtrade_marketlab', 'BTCUSDT_1h.csv'));
  const since = Number(rows[0].open_time_ms);
  const ohlcv = await ex.fetchOHLCV(sym, '1h', since, 5);
  check(ohlcv.length === 5, `${name}: fetchOHLCV returned 5 candles (got ${ohlcv.length})`);
  for (let i = 0; i < Math.min(5, ohlcv.length); i += 1) {
    const [t, o, h, l, c, v] = ohlcv[i];
    const r = rows[i];
    const same = t === Number(r.open_time_ms) && near(o, Number(r.open)) && near(h, Number(r.high)) &&
                 near(l, Number(r.low)) && near(c, Number(r.close)) && near(v * opts.contractSize, Number(r.volume));
    check(same, `${name}: candle ${i} ${JSON.stringify(ohlcv[i])} equals CSV row ${JSON.stringify(r)}`);
  }

  const ticker = await ex.fetchTicker(sym);
  // Binance's 24hr ticker carries no bid/ask (neither does the real one).
  check(ticker.last > 0 && (opts.tickerHasBook ? ticker.bid > 0 && ticker.ask >= ticker.bid : ticker.bid === undefined), `${name}: fetchTicker last ${ticker.last} bid ${ticker.bid} ask ${ticker.ask}`);
  const book = await ex.fetchOrderBook(sym, 5);
  check(book.bids.length > 0 && book.asks.length > 0 && book.bids[0][0] < book.asks[0][0],
        `${name}: fetchOrderBook best ${book.bids[0] && book.bids[0][0]} < ${book.asks[0] && book.asks[0][0]}`);
  const funding = await opts.funding();
  check(funding.ok, `${name}: funding rate ${funding.text}`);

  const bal = await ex.fetchBalance(opts.balanceParams || {});
  check(bal.USDT && bal.USDT.total > 0, `${name}: fetchBalance USDT total ${bal.USDT && bal.USDT.total}`);

  // A limit far below the market with too many decimals: it must rest, rounded to tick and lot.
  const rawPrice = book.bids[0][0] * 0.9 + 0.123456789;
  const order = await ex.createOrder(sym, 'limit', 'buy', opts.rawAmount, rawPrice);
  const open = await ex.fetchOpenOrders(sym);
  const mine = open.find((o) => o.id === order.id);
  const expPrice = Math.floor(rawPrice / opts.tick) * opts.tick;
  check(mine !== undefined, `${name}: limit order ${order.id} is in fetchOpenOrders`);
  if (mine) {
    check(Math.abs(mine.price - expPrice) < opts.tick / 2, `${name}: open order price ${mine.price} is the raw ${rawPrice} rounded to tick ${opts.tick} (${expPrice})`);
    check(near(mine.amount, opts.expAmount), `${name}: open order amount ${mine.amount} is ${opts.rawAmount} rounded to the lot (${opts.expAmount})`);
  }
  await ex.cancelOrder(order.id, sym);
  const after = await ex.fetchOpenOrders(sym);
  check(!after.find((o) => o.id === order.id), `${name}: order ${order.id} gone after cancelOrder`);

  const mkt = await ex.createOrder(sym, 'market', 'buy', opts.expAmount);
  check(mkt.id !== undefined, `${name}: market order accepted (${mkt.id})`);
  const positions = await ex.fetchPositions([sym]);
  const pos = positions.find((p) => p.symbol === sym && p.contracts > 0);
  check(pos !== undefined && near(pos.contracts, opts.expAmount), `${name}: fetchPositions shows the long of ${opts.expAmount} (${pos && pos.contracts})`);

  // A wrong secret is refused with the venue's own error.
  const bad = opts.make('wrong-secret');
  try {
    await bad.fetchBalance(opts.balanceParams || {});
    check(false, `${name}: a wrong secret is rejected`);
  } catch (e) {
    check(e instanceof ccxt.AuthenticationError || opts.authError.test(e.message),
          `${name}: a wrong secret is rejected (${e.constructor.name}: ${e.message.slice(0, 120)})`);
  }
}

(async () => {
  const polBase = `http://127.0.0.1:${polPort}`;
  const makePol = (s) => retarget(new ccxt.poloniex({ apiKey: key, secret: s, enableRateLimit: false }), polBase);
  const po = makePol(secret);
  await judge('poloniex', po, 'BTC/USDT:USDT', 'BTC_USDT_PERP', {
    contractSize: 0.001, tick: 0.01, rawAmount: 2.7, expAmount: 2, make: makePol, balanceParams: { type: 'swap' }, tickerHasBook: true,
    authError: /Signature|401/,
    funding: async () => {
      const r = await po.swapPublicGetV3MarketFundingRate({ symbol: 'BTC_USDT_PERP' });
      return { ok: r && String(r.code) === '200' && r.data && r.data.s === 'BTC_USDT_PERP' && r.data.fR !== undefined,
               text: JSON.stringify(r.data) };
    },
  });

  const bnBase = `http://127.0.0.1:${bnPort}`;
  const makeBn = (s) => retarget(new ccxt.binanceusdm({ apiKey: key, secret: s, enableRateLimit: false,
    options: { fetchCurrencies: false, fetchMargins: false } }), bnBase);
  const bn = makeBn(secret);
  await judge('binance', bn, 'BTC/USDT:USDT', 'BTCUSDT', {
    contractSize: 1, tick: 0.1, rawAmount: 0.0123, expAmount: 0.012, make: makeBn,
    authError: /-1022|Signature/,
    funding: async () => {
      const f = await bn.fetchFundingRate('BTC/USDT:USDT');
      return { ok: typeof f.fundingRate === 'number' && f.markPrice > 0, text: `${f.fundingRate} mark ${f.markPrice}` };
    },
  });

  console.log(`${checks - failures.length}/${checks} checks passed`);
  if (failures.length) {
    console.log('failures:\n  ' + failures.join('\n  '));
    process.exit(1);
  }
})().catch((e) => {
  console.error('ERROR', e.constructor.name, e.message);
  process.exit(1);
});
