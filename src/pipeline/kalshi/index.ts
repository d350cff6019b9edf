export * from './protocol.ts'
export {
  AUTH_FAILURES,
  checkKalshiAuth,
  generateKalshiKeyPair,
  kalshiAuthHeaders,
  KalshiPrivateKey,
  loadPrivateKey,
  loadPrivateKeyFile,
  loadPublicKey,
  PSS_SALT_BYTES,
  signingMessage,
  signKalshi,
  verifyKalshi,
} from './auth.ts'
export type { AuthCheck, AuthFailure, KalshiKeyPair } from './auth.ts'
