// `express4` is Express 4 installed under an alias; its routing API is typed here with the Express 5 types (what
// these tests use of it is the same in both).
declare module 'express4' {
  import express = require('express');
  export = express;
}
