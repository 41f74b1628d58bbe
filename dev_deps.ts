/**
 * Packages that only the tests, tools and benchmarks use. They are pinned here, not in deno.json's
 * import map, so that the import map lists exactly what ships in the binary.
 *
 * @module
 */

export {
  isMap,
  isScalar,
  isSeq,
  parse,
  parseAllDocuments,
  parseDocument,
  type Scalar,
  type YAMLMap,
} from "npm:yaml@2.9.1";
export { SMTPServer } from "npm:smtp-server@3.21.6";
export { simpleParser } from "npm:mailparser@3.14.2";
export { default as parsePrometheusTextFormat } from "npm:parse-prometheus-text-format@1.1.1";
