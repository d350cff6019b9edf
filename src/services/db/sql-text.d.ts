/** `import text from 'x.sql' with { type: 'text' }` (Bun's text loader). */
declare module '*.sql' {
  const text: string
  export default text
}
