// SPDX-License-Identifier: Apache-2.0
// Output stage of a network: W2TTFS over the last spike map feeding the classifier.

`default_nettype none

module w2ttfs_classifier #(
  parameter int Channels  = 128,  // channels of the last map, 1 .. 512
  parameter int MaxHwLog2 = 2,    // log2 of the largest (square) map side, 0 .. 5
  parameter int MaxWin    = 1,    // windows per channel it can hold, a power of two, >= 1
  parameter int Classes   = 10,   // classifier outputs, 2 .. 1024
  parameter int WeightW   = 8,    // signed weight bits
  parameter int AccW      = 24,   // signed logit bits
  localparam int PosW  = (MaxHwLog2 > 0) ? 2 * MaxHwLog2 : 1,
  localparam int Inputs = Channels * MaxWin,
  localparam int AddrW = (Inputs > 1) ? $clog2(Inputs) : 1,
  localparam int WinW  = (MaxWin > 1) ? $clog2(MaxWin) : 1,
  localparam int ClsW  = $clog2(Classes)
) (
  input  wire logic                    clk_i,
  input  wire logic                    rst_i,  // synchronous, active high
  // Configuration, held stable while an image is in flight
  input  wire logic [2:0]              cfg_hw_log2_i,  // map side = 1 << cfg_hw_log2_i
  input  wire logic [1:0]              cfg_ws_log2_i,  // window side; equal to the map: global
  // Spike words of the last map, one per position; bit c is channel c
  input  wire logic                    word_valid_i,
  output logic                         word_ready_o,
  input  wire logic [Channels-1:0]     word_i,
  input  wire logic [PosW-1:0]         word_pos_i,     // y * side + x
  // Classifier weight rows (flatten order channel, window row, window column), between images
  input  wire logic                    wt_valid_i,
  output logic                         wt_ready_o,
  input  wire logic [AddrW-1:0]        wt_addr_i,
  input  wire logic [Classes*WeightW-1:0] wt_row_i,
  // Per-class initial accumulator (the exported bias), between images
  input  wire logic                    bias_valid_i,
  output logic                         bias_ready_o,
  input  wire logic [ClsW-1:0]         bias_cls_i,
  input  wire logic [AccW-1:0]         bias_i,
  // Results: one beat per class with its logit; every beat carries the predicted class
  output logic                         res_valid_o,
  input  wire logic                    res_ready_i,
  output logic      [ClsW-1:0]         res_cls_o,
  output logic      [AccW-1:0]         res_logit_o,
  output logic      [ClsW-1:0]         res_pred_o,
  output logic                         res_last_o
);

  logic                sw_valid, sw_ready, sw_last, w2_idle, load_ok;
  logic                cls_wt_ready, cls_bias_ready;
  logic [Channels-1:0] sw_word;
  logic [WinW-1:0]     sw_win;
  logic [2:0]          side_diff;
  logic [3:0]          win_log2;

  // Flatten stride: windows per channel = 4 ** (hwl - wsl).
  assign side_diff = cfg_hw_log2_i - {1'b0, cfg_ws_log2_i};
  assign win_log2  = {side_diff, 1'b0};

  // Loads go between images only: never while W2TTFS holds part of a map or sends its slots (the
  // classifier alone would take them until the first slot word), and a word of a new map wins.
  assign load_ok      = w2_idle & ~word_valid_i;
  assign wt_ready_o   = cls_wt_ready & load_ok;
  assign bias_ready_o = cls_bias_ready & load_ok;

  w2ttfs #(
    .Channels (Channels),
    .MaxHwLog2(MaxHwLog2),
    .MaxWin   (MaxWin)
  ) u_w2ttfs (
    .clk_i,
    .rst_i,
    .cfg_hw_log2_i,
    .cfg_ws_log2_i,
    .word_valid_i,
    .word_ready_o,
    .word_i,
    .word_pos_i,
    .sw_valid_o(sw_valid),
    .sw_ready_i(sw_ready),
    .sw_word_o (sw_word),
    .sw_win_o  (sw_win),
    .sw_last_o (sw_last),
    .idle_o    (w2_idle)
  );

  classifier #(
    .Channels(Channels),
    .MaxWin  (MaxWin),
    .Classes (Classes),
    .WeightW (WeightW),
    .AccW    (AccW)
  ) u_classifier (
    .clk_i,
    .rst_i,
    .cfg_win_log2_i(win_log2),
    .wt_valid_i    (wt_valid_i & load_ok),
    .wt_ready_o    (cls_wt_ready),
    .wt_addr_i,
    .wt_row_i,
    .bias_valid_i  (bias_valid_i & load_ok),
    .bias_ready_o  (cls_bias_ready),
    .bias_cls_i,
    .bias_i,
    .sw_valid_i    (sw_valid),
    .sw_ready_o    (sw_ready),
    .sw_word_i     (sw_word),
    .sw_win_i      (sw_win),
    .sw_last_i     (sw_last),
    .res_valid_o,
    .res_ready_i,
    .res_cls_o,
    .res_logit_o,
    .res_pred_o,
    .res_last_o
  );

endmodule : w2ttfs_classifier

`default_nettype wire
