// SPDX-License-Identifier: Apache-2.0
// Classifier fed by W2TTFS: adds weight rows of active inputs slot by slot, then takes the argmax.

`default_nettype none

module classifier #(
  parameter int Channels = 128,  // channels per slot word, 1 .. 512
  parameter int MaxWin   = 1,    // windows per channel it can address, a power of two, >= 1
  parameter int Classes  = 10,   // outputs, 2 .. 1024
  parameter int WeightW  = 8,    // signed weight bits, 2 .. 16
  parameter int AccW     = 24,   // signed accumulator (logit) bits, WeightW+1 .. 48
  localparam int Inputs = Channels * MaxWin,
  localparam int AddrW  = (Inputs > 1) ? $clog2(Inputs) : 1,
  localparam int WinW   = (MaxWin > 1) ? $clog2(MaxWin) : 1,
  localparam int ChW    = (Channels > 1) ? $clog2(Channels) : 1,
  localparam int ClsW   = $clog2(Classes),
  localparam int RowW   = Classes * WeightW
) (
  input  wire logic                clk_i,
  input  wire logic                rst_i,       // synchronous, active high; zeroes the biases
  // Configuration, held stable while an image is in flight
  input  wire logic [3:0]          cfg_win_log2_i,  // log2 of windows per channel
  // Weight rows: row i holds input i's weight for every class (class o in bits o*WeightW);
  // inputs in flatten order, i = channel * windows + window. Taken only between images.
  input  wire logic                wt_valid_i,
  output logic                     wt_ready_o,
  input  wire logic [AddrW-1:0]    wt_addr_i,
  input  wire logic [RowW-1:0]     wt_row_i,
  // Initial accumulator value (bias) of one class; taken only between images
  input  wire logic                bias_valid_i,
  output logic                     bias_ready_o,
  input  wire logic [ClsW-1:0]     bias_cls_i,
  input  wire logic [AccW-1:0]     bias_i,
  // Time-slot schedule from w2ttfs
  input  wire logic                sw_valid_i,
  output logic                     sw_ready_o,
  input  wire logic [Channels-1:0] sw_word_i,
  input  wire logic [WinW-1:0]     sw_win_i,
  input  wire logic                sw_last_i,
  // Results: one beat per class, in class order; every beat carries the predicted class
  output logic                     res_valid_o,
  input  wire logic                res_ready_i,
  output logic      [ClsW-1:0]     res_cls_o,    // class of this logit
  output logic      [AccW-1:0]     res_logit_o,  // signed accumulator of that class
  output logic      [ClsW-1:0]     res_pred_o,   // argmax, lowest index on ties
  output logic                     res_last_o
);

  localparam logic [1:0] StAcc = 2'd0, StScan = 2'd1, StOut = 2'd2;
  localparam logic [ClsW-1:0] LastCls = ClsW'(Classes - 1);
  localparam logic [AddrW:0]  InputsL = (AddrW + 1)'($unsigned(Inputs));
  localparam logic [ClsW:0]   ClassesL = (ClsW + 1)'($unsigned(Classes));

  logic [1:0]               state_q;
  logic                     fresh_q;     // no slot word of the current image taken yet
  logic                     last_in_q;   // the image's last slot word has been taken
  logic [ClsW-1:0]          idx_q, pred_q;
  logic signed [AccW-1:0]   best_q;
  logic signed [AccW-1:0]   acc_q  [Classes];
  logic        [AccW-1:0]   bias_q [Classes];
  logic        [RowW-1:0]   wmem   [Inputs];
  logic        [RowW-1:0]   row_q;       // weight row read for the event of the previous cycle
  logic                     row_vld_q;

  logic               block, sw_take, init_acc, drained, res_fire;
  logic               fw_valid, fw_ready, ev_valid;
  logic               ev_last;  // only the simulation checks use word boundaries
  logic [ChW-1:0]     ev_ch;
  logic [WinW-1:0]    ev_win;
  logic [AddrW-1:0]   ev_addr;
  logic signed [AccW-1:0] cur;

  function automatic logic signed [AccW-1:0] sext(input logic [WeightW-1:0] w);
    return $signed({{(AccW - WeightW){w[WeightW-1]}}, w});
  endfunction

  // A bias write and the image's first slot word never meet in one cycle: the bias goes first.
  assign block      = (state_q != StAcc) | last_in_q | (fresh_q & bias_valid_i);
  assign fw_valid   = sw_valid_i & ~block;
  assign sw_ready_o = fw_ready & ~block;
  assign sw_take    = sw_valid_i & sw_ready_o;
  assign init_acc   = sw_take & fresh_q;

  assign wt_ready_o   = fresh_q & (state_q == StAcc);
  assign bias_ready_o = fresh_q & (state_q == StAcc);

  // One event per active input per slot; the event stream is never stalled.
  event_filter #(
    .Channels(Channels),
    .PosW    (WinW)
  ) u_filter (
    .clk_i,
    .rst_i,
    .word_valid_i(fw_valid),
    .word_ready_o(fw_ready),
    .word_i      (sw_word_i),
    .word_pos_i  (sw_win_i),
    .ev_valid_o  (ev_valid),
    .ev_ready_i  (1'b1),
    .ev_ch_o     (ev_ch),
    .ev_pos_o    (ev_win),
    .ev_last_o   (ev_last)
  );

  // Flatten order: input = (channel << win_log2) | window.
  function automatic logic [AddrW-1:0] flat_addr(input logic [ChW-1:0] ch,
                                                 input logic [WinW-1:0] win,
                                                 input logic [3:0] win_log2);
    logic [AddrW-1:0] a;
    a = '0;
    a[ChW-1:0] = ch;
    a = a << win_log2;
    a[WinW-1:0] = a[WinW-1:0] | win;
    return a;
  endfunction

  assign ev_addr = flat_addr(ev_ch, ev_win, cfg_win_log2_i);

  always_ff @(posedge clk_i) begin
    if (wt_valid_i && wt_ready_o) begin
      wmem[wt_addr_i] <= wt_row_i;
    end
    if (ev_valid) begin
      row_q <= wmem[ev_addr];
    end
  end

  assign drained = last_in_q & ~ev_valid & ~row_vld_q;
  assign cur     = acc_q[idx_q];
  assign res_fire = res_valid_o & res_ready_i;

  always_ff @(posedge clk_i) begin
    if (rst_i) begin
      state_q   <= StAcc;
      fresh_q   <= 1'b1;
      last_in_q <= 1'b0;
      row_vld_q <= 1'b0;
      idx_q     <= '0;
    end else begin
      row_vld_q <= ev_valid;
      case (state_q)
        StAcc: begin
          if (sw_take) fresh_q <= 1'b0;
          if (sw_take && sw_last_i) last_in_q <= 1'b1;
          if (drained) begin
            state_q   <= StScan;
            last_in_q <= 1'b0;
            idx_q     <= '0;
          end
        end
        StScan: begin
          idx_q <= (idx_q == LastCls) ? '0 : idx_q + 1'b1;
          if (idx_q == LastCls) state_q <= StOut;
        end
        default: begin
          if (res_fire) begin
            idx_q <= (idx_q == LastCls) ? '0 : idx_q + 1'b1;
            if (idx_q == LastCls) begin
              state_q <= StAcc;
              fresh_q <= 1'b1;
            end
          end
        end
      endcase
    end
  end

  // Argmax by a scan in class order; a strictly greater logit is needed to move, so the lowest
  // index wins a tie.
  always_ff @(posedge clk_i) begin
    if (state_q == StScan && (idx_q == '0 || cur > best_q)) begin
      best_q <= cur;
      pred_q <= idx_q;
    end
  end

  // The loops sit inside their conditions: a simulator then skips them on idle cycles.
  always_ff @(posedge clk_i) begin
    if (rst_i) begin
      for (int o = 0; o < Classes; o++) bias_q[o] <= '0;
    end else if (bias_valid_i && bias_ready_o) begin
      for (int o = 0; o < Classes; o++) begin
        if (bias_cls_i == ClsW'($unsigned(o))) bias_q[o] <= bias_i;
      end
    end
  end

  always_ff @(posedge clk_i) begin
    if (init_acc) begin
      for (int o = 0; o < Classes; o++) acc_q[o] <= $signed(bias_q[o]);
    end else if (row_vld_q) begin
      for (int o = 0; o < Classes; o++) acc_q[o] <= acc_q[o] + sext(row_q[o*WeightW+:WeightW]);
    end
  end

  assign res_valid_o = (state_q == StOut);
  assign res_cls_o   = idx_q;
  assign res_logit_o = $unsigned(cur);
  assign res_pred_o  = pred_q;
  assign res_last_o  = (idx_q == LastCls);

`ifndef SYNTHESIS
  initial begin
    if (Channels < 1 || Channels > 512) begin
      $fatal(1, "classifier: Channels must be 1..512, got %0d", Channels);
    end
    if (MaxWin < 1 || (MaxWin & (MaxWin - 1)) != 0) begin
      $fatal(1, "classifier: MaxWin must be a power of two, got %0d", MaxWin);
    end
    if (Classes < 2 || Classes > 1024) begin
      $fatal(1, "classifier: Classes must be 2..1024, got %0d", Classes);
    end
    if (WeightW < 2 || WeightW > 16 || AccW <= WeightW || AccW > 48) begin
      $fatal(1, "classifier: WeightW %0d / AccW %0d out of range", WeightW, AccW);
    end
  end

  // True when acc + sext(w) leaves the signed AccW-bit range.
  function automatic logic add_overflows(input logic [AccW-1:0] acc, input logic [WeightW-1:0] w);
    logic [AccW:0] sum;
    sum = {acc[AccW-1], acc} + {w[WeightW-1], sext(w)};
    return sum[AccW] != sum[AccW-1];
  endfunction

  // Non-zero slot words inside the event filter: one in, one last event out.
  int words_in_filter;
  always @(posedge clk_i) begin
    if (rst_i) begin
      words_in_filter <= 0;
    end else begin
      words_in_filter <= words_in_filter + ((fw_valid && fw_ready && sw_word_i != '0) ? 1 : 0)
                         - (ev_valid && ev_last ? 1 : 0);
      assert (words_in_filter >= 0 && words_in_filter <= 1)
        else $fatal(1, "classifier: %0d words inside the event filter", words_in_filter);
      assert (!(drained && words_in_filter != 0))
        else $fatal(1, "classifier: drained with a word still in the event filter");
      if (sw_valid_i || ev_valid) begin
        assert ((1 << cfg_win_log2_i) <= MaxWin)
          else $fatal(1, "classifier: 2**%0d windows per channel, at most %0d", cfg_win_log2_i,
                      MaxWin);
      end
      if (wt_valid_i && wt_ready_o) begin
        assert ({1'b0, wt_addr_i} < InputsL)
          else $fatal(1, "classifier: weight row %0d beyond %0d inputs", wt_addr_i, Inputs);
      end
      if (bias_valid_i && bias_ready_o) begin
        assert ({1'b0, bias_cls_i} < ClassesL)
          else $fatal(1, "classifier: bias for class %0d of %0d", bias_cls_i, Classes);
      end
      assert (!(ev_valid && state_q != StAcc)) else $fatal(1, "classifier: event outside a walk");
      assert (!(row_vld_q && init_acc)) else $fatal(1, "classifier: new image before the drain");
      // The exporter proves the logits fit; a wrap here means the package was not checked.
      if (row_vld_q) begin
        for (int o = 0; o < Classes; o++) begin
          assert (!add_overflows($unsigned(acc_q[o]), row_q[o*WeightW+:WeightW]))
            else $fatal(1, "classifier: logit %0d overflows %0d bits", o, AccW);
        end
      end
    end
  end
`endif

endmodule : classifier

`default_nettype wire
