/** Public entry point `evident/receipts`: Evident receipts (DSSE envelope + log entry + tlog-proof), issuing and verifying. */
export * from './receipt.ts';
