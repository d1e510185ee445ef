/**
 * Page objects for the dashboard. They navigate by the hash route and find things by data-test
 * attributes, so the same specs drive web mode or the packaged Electron app (wdio's electron service).
 */
export class Dashboard {
  constructor(readonly browser: WebdriverIO.Browser) {}

  async open(route: string): Promise<void> {
    await this.browser.execute((r: string) => {
      window.location.hash = r;
    }, `#${route}`);
    await this.browser.waitUntil(
      async () => (await this.browser.execute(() => window.location.hash)) === `#${route}`,
      { timeout: 5000 },
    );
  }

  $(testId: string) {
    return this.browser.$(`[data-test="${testId}"]`);
  }

  async view(name: string): Promise<void> {
    await this.browser.$(`[data-view="${name}"]`).waitForDisplayed({ timeout: 10_000 });
  }

  /** Waits until the element's text satisfies the predicate; returns that text. */
  async waitText(selector: string, ok: (t: string) => boolean, timeout = 15_000): Promise<string> {
    let last = '';
    await this.browser.waitUntil(
      async () => {
        const el = this.browser.$(selector);
        last = (await el.isExisting()) ? await el.getText() : '';
        return ok(last);
      },
      {
        timeout,
        timeoutMsg: `${selector}: text never matched; last was ${JSON.stringify(last.slice(-400))}`,
      },
    );
    return last;
  }

  async confirm(): Promise<void> {
    const ok = this.$('confirm-ok');
    await ok.waitForDisplayed({ timeout: 5000 });
    await ok.click();
  }

  row(attr: string, value: string) {
    return this.browser.$(`tr[${attr}="${value}"]`);
  }

  async errorNotice(): Promise<string> {
    const n = this.$('notice-error');
    await n.waitForDisplayed({ timeout: 10_000 });
    return n.getText();
  }
}
