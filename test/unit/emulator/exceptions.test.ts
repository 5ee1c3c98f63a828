import { describe, expect, it } from 'vitest';
import { exceptionPage } from '../../../emulator/exceptions.js';

describe('the 1101 page Cloudflare answers for a Worker that threw', () => {
  it('names the error, the site and the time, with a ray id', () => {
    const page = exceptionPage('gw.example.workers.dev', new Date('2026-01-02T03:04:05.678Z'));
    expect(page).toContain('Error 1101');
    expect(page).toContain('Worker threw exception');
    expect(page).toMatch(/Ray ID: [0-9a-f]{16} &bull; 2026-01-02 03:04:05 UTC/);
    expect(page).toContain(
      "You've requested a page on a website (gw.example.workers.dev) that is on the Cloudflare network.",
    );
  });

  it('does not carry markup from the Host header', () => {
    expect(exceptionPage('<script>x</script>')).not.toContain('<script>');
  });
});
