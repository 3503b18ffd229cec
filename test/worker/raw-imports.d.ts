// Vite's ?raw imports (file contents as a string), used to read the cutover guide inside workerd.
declare module '*?raw' {
  const text: string;
  export default text;
}
