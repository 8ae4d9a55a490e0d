import { existsSync, mkdirSync } from 'node:fs'
import { join, resolve } from 'node:path'
import axe from 'axe-core'
import { type Browser, chromium, type Page } from 'playwright-core'

/** Debian's chromium package (.ci/run installs it); CHROMIUM_PATH names another build. */
export const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium'

/** Why the browser tests cannot run here, or undefined (always, under PAM_TEST_REQUIRE_BROWSER=1: they fail instead). */
export const noBrowser =
  existsSync(CHROMIUM) || process.env.PAM_TEST_REQUIRE_BROWSER === '1'
    ? undefined
    : `no Chromium at ${CHROMIUM}: apt-get install chromium (.ci/run installs it), or set CHROMIUM_PATH`

/** Where screenshots go: test-output/console (ignored by git), printed by the tests that write them. */
export const SCREENSHOTS = resolve('test-output', 'console')

/** Headless Chromium, no download: the machine's own build. */
export function launchBrowser(): Promise<Browser> {
  // As root (CI containers) Chromium's sandbox cannot start; /dev/shm is small in containers.
  return chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox', '--disable-dev-shm-usage'] })
}

/** A page of `width` px that records what the browser refused (CSP) or failed to run. */
export async function openPage(browser: Browser, width: number) {
  const context = await browser.newContext({ viewport: { width, height: 900 }, reducedMotion: 'reduce' })
  const page = await context.newPage()
  const problems: string[] = []
  page.on('console', (message) => {
    // A 401 is how the operator view learns it must sign in: Chromium logs it, and it is expected.
    if (message.type() === 'error' && !/status of 401/.test(message.text())) problems.push(message.text())
  })
  page.on('pageerror', (error) => problems.push(error.message))
  return { page, problems, close: () => context.close() }
}

/** axe-core's serious and critical violations on the page as it is, as `rule: targets` lines. */
export async function accessibilityProblems(page: Page): Promise<string[]> {
  // Evaluated over the DevTools protocol, which the page's CSP does not govern (no inline script is added).
  await page.evaluate(axe.source)
  // Strings, evaluated in the page: this project's types have no DOM.
  const result = (await page.evaluate('axe.run(document, { resultTypes: ["violations"] })')) as axe.AxeResults
  return result.violations
    .filter((violation) => violation.impact === 'serious' || violation.impact === 'critical')
    .map((violation) => `${violation.id}: ${violation.nodes.map((node) => node.target.join(' ')).join(', ')}`)
}

/** How wide the page's content is: wider than the viewport means sideways scrolling. */
export async function contentWidth(page: Page): Promise<number> {
  return (await page.evaluate('document.documentElement.scrollWidth')) as number
}

/** Saves a full-page screenshot as test-output/console/<name>.png; returns its path. */
export async function screenshot(page: Page, name: string): Promise<string> {
  mkdirSync(SCREENSHOTS, { recursive: true })
  const path = join(SCREENSHOTS, `${name}.png`)
  await page.screenshot({ path, fullPage: true })
  return path
}
