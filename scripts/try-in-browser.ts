/**
 * `npm run try`: with `npm start` running in another terminal, logs a fresh WeChat user in (the
 * simulator plays wx.login, the demo shop exchanges the code), places an order and prints the
 * simulator cashier's address, where the payment can be finished in a browser.
 *
 * Reads PORT (demo, default 3000), SIMULATOR_PORT (default 3100) and HOST (default 127.0.0.1),
 * the same variables `npm start` reads.
 */
import { formatYuan } from 'nestjs-wechat-pay-v2/protocol';

const host = process.env.HOST || '127.0.0.1';
const shop = `http://${host}:${process.env.PORT || '3000'}`;
const simulator = `http://${host}:${process.env.SIMULATOR_PORT || '3100'}`;

interface Product {
  id: number;
  name: string;
  priceFen: number;
}

interface Checkout {
  orderNo: string;
  amount: number;
  description: string;
  payParams?: { package: string };
}

async function call<T>(base: string, path: string, init: RequestInit = {}): Promise<T> {
  let res: Response;
  try {
    res = await fetch(`${base}${path}`, {
      ...init,
      headers: { 'Content-Type': 'application/json', ...init.headers },
    });
  } catch {
    throw new Error(
      `nothing answers at ${base}. Start the demo and its simulator first, in another terminal: npm start`,
    );
  }
  const text = await res.text();
  if (!res.ok)
    throw new Error(`${init.method ?? 'GET'} ${base}${path} answered ${res.status}: ${text}`);
  return JSON.parse(text) as T;
}

async function main(): Promise<void> {
  const { code, openid } = await call<{ code: string; openid: string }>(
    simulator,
    '/__simulator/login',
    { method: 'POST', body: '{}' },
  );
  const { token } = await call<{ token: string }>(shop, '/api/auth/login', {
    method: 'POST',
    body: JSON.stringify({ code }),
  });
  const auth = { Authorization: `Bearer ${token}` };
  const [product] = await call<Product[]>(shop, '/api/products');
  if (!product) throw new Error('the shop has no products');
  const order = await call<Checkout>(shop, '/api/orders', {
    method: 'POST',
    headers: auth,
    body: JSON.stringify({ items: [{ productId: product.id, quantity: 1 }] }),
  });
  const prepayId = order.payParams?.package.replace(/^prepay_id=/, '');
  if (!prepayId)
    throw new Error(`order ${order.orderNo} has no pay parameters: ${JSON.stringify(order)}`);
  const cashier = `${simulator}/__simulator/cashier?${new URLSearchParams({ prepay_id: prepayId, openid })}`;

  console.log(
    [
      `Logged in as a new WeChat user: openid ${openid}`,
      `Placed order ${order.orderNo}: ${order.description}, ¥${formatYuan(order.amount)}`,
      '',
      'Open the cashier (WeChat payment sheet) and tap Pay or Cancel:',
      `  ${cashier}`,
      'Watch the order and its payment notification on the simulator dashboard:',
      `  ${simulator}/__simulator/`,
      'Ask the shop for the order, as the mini program would:',
      `  curl -H 'Authorization: Bearer ${token}' ${shop}/api/orders/${order.orderNo}`,
    ].join('\n'),
  );
}

main().catch((error: unknown) => {
  console.error(error instanceof Error ? error.message : String(error));
  process.exit(1);
});
